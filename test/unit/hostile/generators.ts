/**
 * fast-check arbitraries for hostile webhook requests: random bytes, mutated Sqreen samples,
 * bodies nested 100 000 levels deep, invalid UTF-8, prototype-polluting keys, 1001 items,
 * non-object items, huge strings and bodies, and every way the signature header can be wrong.
 * Every generated text that could leak carries MARKER, so the test can look for it in the logs.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { sampleBytes, sampleNames, sampleNotifications } from "../ingest/fixtures.js";
import type { RawRequest } from "./support.js";

/** Appears in generated bodies wherever a leak would show; must never reach a log or an answer. */
export const MARKER = "HOSTILE-BODY-MARKER-7f3a";
/** Personal data the shared samples carry: must never reach a log. */
export const SAMPLE_PERSONAL_DATA = ["bob@example.com", "carol@example.com"];

export const PRIMARY_KEY = "3f1c9a7e2b8d4f60a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1";
export const ROTATED_KEY = "hostile-suite-second-key-during-a-rotation-0123456789abcdef";
const FOREIGN_KEY = "a-key-the-relay-does-not-know-0123456789";

export interface GeneratedBody {
  kind: string;
  body: Buffer;
  /** Binary bodies (invalid UTF-8) can only arrive base64-encoded. */
  forceBase64?: boolean;
}

export interface HostileCase {
  kind: string;
  signing: string;
  request: RawRequest;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const hmac = (body: Buffer | string, key: string) => createHmac("sha256", key).update(body).digest("hex");
const text = (value: string) => Buffer.from(value, "utf8");
const samples = sampleNames.map((name) => ({ name, notifications: sampleNotifications(name) as Json[] }));
const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

const marked = fc.string({ maxLength: 30 }).map((noise) => `${MARKER} ${noise}`);
const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const nonObject: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  marked,
  fc.array(fc.integer(), { maxLength: 3 }),
);

/** One edit of a notification; applied to a deep copy. */
const mutation: fc.Arbitrary<(item: Json) => Json> = fc.oneof(
  // Drop an envelope or content key.
  fc
    .constantFrom("message_type", "message", "sqreen_payload_type", "api_version", "id", "event_id")
    .map((key) => (item: Json) => {
      if (isObject(item)) {
        delete item[key];
        if (isObject(item.message)) delete item.message[key];
      }
      return item;
    }),
  // Overwrite a key with any JSON value (marked strings included).
  fc
    .tuple(
      fc.constantFrom("message_type", "message", "sqreen_payload_type", "api_version", "risk", "ips"),
      fc.oneof(anyJson, marked),
    )
    .map(([key, value]) => (item: Json) => {
      if (isObject(item)) item[key] = value;
      return item;
    }),
  // Carry a marker in a descriptive field, where personal data lives.
  marked.map((value) => (item: Json) => {
    if (isObject(item)) {
      item.humanized_description = value;
      if (isObject(item.message)) item.message.humanized_description = value;
    }
    return item;
  }),
  // Replace the whole notification with something that is not an object.
  nonObject.map((value) => () => value),
  // Empty strings where non-empty ones are required.
  fc.constant((item: Json) => {
    if (isObject(item)) {
      if ("message_type" in item) item.message_type = "";
      if ("sqreen_payload_type" in item) item.sqreen_payload_type = "";
    }
    return item;
  }),
);

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const mutatedSample: fc.Arbitrary<GeneratedBody> = fc
  .tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), mutation), { maxLength: 4 }))
  .map(([sample, edits]) => {
    const items = structuredClone(sample.notifications);
    for (const [index, edit] of edits) {
      const at = index % items.length;
      items[at] = edit(items[at] as Json);
    }
    return { kind: `mutated ${sample.name}`, body: text(JSON.stringify(items)) };
  });

/** Keys that pollute prototypes when code merges objects naively, at the top and in `message`. */
const prototypeKeys: fc.Arbitrary<GeneratedBody> = fc
  .constantFrom(
    `[{"sqreen_payload_type":"test","__proto__":{"polluted":"yes","toString":"x"},"note":"${MARKER}"}]`,
    `[{"sqreen_payload_type":"test","constructor":{"prototype":{"polluted":"yes"}}}]`,
    `[{"message_type":"security_event","message":{"__proto__":{"polluted":"yes"},"event_id":"p-1"}}]`,
    `[{"message_type":"security_event","message":{"constructor":{"prototype":{"polluted":"yes"}}}}]`,
    `[{"__proto__":{"sqreen_payload_type":"test"}}]`,
    `[{"message_type":"test","__proto__":{"message":{"id":"x"}}}]`,
    `{"__proto__":{"polluted":"yes"}}`,
    `[{"sqreen_payload_type":"pulse","hasOwnProperty":"${MARKER}","toString":1,"valueOf":null}]`,
  )
  .map((body) => ({ kind: "prototype keys", body: text(body) }));

const deepNesting: fc.Arbitrary<GeneratedBody> = fc
  .tuple(
    fc.constantFrom(10, 60, 61, 62, 63, 64, 100, 5_000, 100_000),
    fc.constantFrom("message", "top", "v1"),
  )
  .map(([depth, where]) => {
    const inner = nested(depth);
    const body =
      where === "top"
        ? inner
        : where === "v1"
          ? `[{"sqreen_payload_type":"pulse","note":"${MARKER}","deep":${inner}}]`
          : `[{"message_type":"security_event","message":{"humanized_description":"${MARKER}","deep":${inner}}}]`;
    return { kind: `nested ${depth} (${where})`, body: text(body) };
  });

const manyItems: fc.Arbitrary<GeneratedBody> = fc.constantFrom(1, 999, 1000, 1001, 5000).map((count) => {
  const item = `{"sqreen_payload_type":"test","note":"${MARKER}"}`;
  return { kind: `${count} items`, body: text(`[${Array(count).fill(item).join(",")}]`) };
});

/** Byte sequences no UTF-8 decoder may accept. */
const INVALID_UTF8 = [
  [0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xf4, 0x90, 0x80, 0x80],
];

const invalidUtf8: fc.Arbitrary<GeneratedBody> = fc
  .tuple(fc.constantFrom(...sampleNames), fc.constantFrom(...INVALID_UTF8), fc.double({ min: 0, max: 1 }))
  .map(([name, sequence, position]) => {
    const bytes = sampleBytes(name);
    const at = Math.floor(position * bytes.length);
    const body = Buffer.concat([bytes.subarray(0, at), Buffer.from(sequence), bytes.subarray(at)]);
    return { kind: `invalid UTF-8 in ${name}`, body, forceBase64: true };
  });

/** Strings around the per-notification limit, and bodies around the request limit. */
function hugeBodies(maxBodyBytes: number): fc.Arbitrary<GeneratedBody> {
  return fc.oneof(
    fc.constantFrom(1_000, 150_000, 196_000, 196_700, 300_000).map((length) => {
      const description = `${MARKER}${"x".repeat(length)}`;
      return {
        kind: `string of ${length}`,
        body: text(
          JSON.stringify([{ sqreen_payload_type: "security_event", humanized_description: description }]),
        ),
      };
    }),
    fc.constantFrom(-1, 0, 1, 1000).map((over) => {
      // A batch of 100 KiB notifications whose total lands just around the request limit.
      const filler = `${MARKER}${"y".repeat(100_000)}`;
      const items: string[] = [];
      let size = 2;
      while (size + 100_200 < maxBodyBytes) {
        const item = JSON.stringify({ sqreen_payload_type: "test", note: filler });
        items.push(item);
        size += item.length + 1;
      }
      const head = `[${items.join(",")},{"sqreen_payload_type":"test","pad":"`;
      const tail = `"}]`;
      const pad = Math.max(0, maxBodyBytes + over - head.length - tail.length);
      return {
        kind: `body of limit${over >= 0 ? "+" : ""}${over}`,
        body: text(`${head}${"z".repeat(pad)}${tail}`),
      };
    }),
  );
}

const smallBodies: fc.Arbitrary<GeneratedBody> = fc
  .constantFrom(
    "",
    " ",
    "\n",
    "null",
    "{}",
    "[]",
    "[null]",
    "[1]",
    "[[]]",
    '"[]"',
    "[{}]",
    "[{},{}]",
    "true",
    "[",
    "]",
  )
  .map((body) => ({ kind: `literal ${JSON.stringify(body)}`, body: text(body) }));

const byteOrderMark: fc.Arbitrary<GeneratedBody> = fc.constantFrom(...sampleNames).map((name) => ({
  kind: `BOM + ${name}`,
  body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sampleBytes(name)]),
}));

const genuineSample: fc.Arbitrary<GeneratedBody> = fc
  .constantFrom(...sampleNames)
  .map((name) => ({ kind: `sample ${name}`, body: sampleBytes(name) }));

const randomBytes: fc.Arbitrary<GeneratedBody> = fc
  .uint8Array({ maxLength: 600 })
  .map((bytes) => ({ kind: "random bytes", body: Buffer.from(bytes), forceBase64: true }));

const randomText: fc.Arbitrary<GeneratedBody> = fc
  .string({ unit: "binary", maxLength: 300 })
  .map((value) => ({ kind: "random text", body: text(value) }));

const randomJson: fc.Arbitrary<GeneratedBody> = fc
  .oneof(fc.jsonValue({ maxDepth: 4 }), fc.array(fc.oneof(anyJson, marked), { maxLength: 5 }))
  .map((value) => ({ kind: "random JSON", body: text(JSON.stringify(value) ?? "null") }));

/** Bodies, weighted so most requests get past the signature to the body rules. */
export function hostileBody(maxBodyBytes: number): fc.Arbitrary<GeneratedBody> {
  return fc.oneof(
    { arbitrary: mutatedSample, weight: 8 },
    { arbitrary: randomBytes, weight: 2 },
    { arbitrary: randomText, weight: 2 },
    { arbitrary: randomJson, weight: 3 },
    { arbitrary: prototypeKeys, weight: 2 },
    { arbitrary: deepNesting, weight: 2 },
    { arbitrary: manyItems, weight: 2 },
    { arbitrary: invalidUtf8, weight: 2 },
    { arbitrary: hugeBodies(maxBodyBytes), weight: 1 },
    { arbitrary: smallBodies, weight: 2 },
    { arbitrary: byteOrderMark, weight: 1 },
    { arbitrary: genuineSample, weight: 2 },
  );
}

/** How the signature header is set, given the body: right, wrong, and every malformed shape. */
const SIGNINGS: Record<string, (body: Buffer) => Record<string, string>> = {
  valid: (body) => ({ "x-sqreen-integrity": hmac(body, PRIMARY_KEY) }),
  "valid, rotated key": (body) => ({ "x-sqreen-integrity": hmac(body, ROTATED_KEY) }),
  "valid, upper-case hex": (body) => ({ "x-sqreen-integrity": hmac(body, PRIMARY_KEY).toUpperCase() }),
  "valid, padded": (body) => ({ "x-sqreen-integrity": ` ${hmac(body, PRIMARY_KEY)} ` }),
  "valid, upper-case header name": (body) => ({ "X-SQREEN-INTEGRITY": hmac(body, PRIMARY_KEY) }),
  "another body's": (body) => ({ "x-sqreen-integrity": hmac(Buffer.concat([body, text(" ")]), PRIMARY_KEY) }),
  "unknown key": (body) => ({ "x-sqreen-integrity": hmac(body, FOREIGN_KEY) }),
  "hex-decoded key": (body) => ({
    "x-sqreen-integrity": hmac(body, Buffer.from(PRIMARY_KEY, "hex").toString("latin1")),
  }),
  missing: () => ({}),
  empty: () => ({ "x-sqreen-integrity": "" }),
  truncated: (body) => ({ "x-sqreen-integrity": hmac(body, PRIMARY_KEY).slice(0, 63) }),
  "one hex too many": (body) => ({ "x-sqreen-integrity": `${hmac(body, PRIMARY_KEY)}0` }),
  "duplicated, comma-joined": (body) => ({
    "x-sqreen-integrity": `${hmac(body, PRIMARY_KEY)},${hmac(body, PRIMARY_KEY)}`,
  }),
  "sha256= prefixed": (body) => ({ "x-sqreen-integrity": `sha256=${hmac(body, PRIMARY_KEY)}` }),
  base64: (body) => ({
    "x-sqreen-integrity": createHmac("sha256", PRIMARY_KEY).update(body).digest("base64"),
  }),
  "on another header": (body) => ({ "x-sqreen-signature": hmac(body, PRIMARY_KEY) }),
};

const signing = fc.oneof(
  { arbitrary: fc.constant("valid"), weight: 12 },
  { arbitrary: fc.constantFrom(...Object.keys(SIGNINGS)), weight: 6 },
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json",
  "APPLICATION/JSON; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
  undefined,
);

const method = fc.oneof(
  { arbitrary: fc.constant("POST"), weight: 20 },
  fc.constantFrom("GET", "PUT", "post"),
);
const path = fc.oneof(
  { arbitrary: fc.constant("/v1/webhook"), weight: 20 },
  fc.constantFrom("/", "/v1/webhook/", "/V1/WEBHOOK", "/v2/webhook"),
);

/** A whole hostile request. */
export function hostileRequest(maxBodyBytes: number): fc.Arbitrary<HostileCase> {
  return fc
    .record({
      body: hostileBody(maxBodyBytes),
      signing,
      contentType,
      base64: fc.boolean(),
      method,
      path,
      extraHeader: fc.option(fc.tuple(fc.constantFrom("x-forwarded-for", "user-agent", "x-junk"), marked)),
    })
    .map(({ body, signing: how, contentType: type, base64, method: verb, path: route, extraHeader }) => {
      const headers: Record<string, string> = { ...(SIGNINGS[how]?.(body.body) ?? {}) };
      if (type !== undefined) headers["content-type"] = type;
      if (extraHeader) headers[extraHeader[0]] = extraHeader[1];
      const request = {
        method: verb,
        path: route,
        headers,
        body: body.body,
        base64: base64 || body.forceBase64 === true,
      };
      // A counterexample prints as this line, not as megabytes of body bytes.
      const summary = `${verb} ${route} ${body.kind}, ${body.body.length} bytes${request.base64 ? " (base64)" : ""}, signature ${how}, content-type ${JSON.stringify(type)}; body starts ${JSON.stringify(body.body.subarray(0, 80).toString("latin1"))}`;
      return { kind: body.kind, signing: how, request, [fc.toStringMethod]: () => summary };
    });
}
