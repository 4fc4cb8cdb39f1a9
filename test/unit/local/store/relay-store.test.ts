import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RelayStore } from "../../../../local/store/relay-store.js";

describe("the relay store's group commit", () => {
  let store: RelayStore;

  beforeEach(() => {
    store = new RelayStore();
    store.db.exec("CREATE TABLE notes (text TEXT NOT NULL)");
  });
  afterEach(() => store.close());

  const insert = (text: string) => () => store.db.prepare("INSERT INTO notes (text) VALUES (?)").run(text);
  const notes = () =>
    (store.db.prepare("SELECT text FROM notes ORDER BY rowid").all() as { text: string }[]).map(
      (row) => row.text,
    );

  it("commits the works asked for in one turn together, each resolving with its own value", async () => {
    const results = await Promise.all([
      store.commit(() => {
        insert("a")();
        return 1;
      }),
      store.commitDurably(() => {
        insert("b")();
        return 2;
      }),
      store.commit(() => 3),
    ]);

    expect(results).toEqual([1, 2, 3]);
    expect(notes()).toEqual(["a", "b"]);
    expect(store.db.inTransaction).toBe(false);
  });

  it("rejects only the work that threw and undoes only its writes; the others commit", async () => {
    const failure = new Error("work failed half-way");

    const [first, failed, last] = await Promise.allSettled([
      store.commit(insert("before")),
      store.commit(() => {
        insert("half-way")();
        throw failure;
      }),
      store.commit(insert("after")),
    ]);

    expect(first.status).toBe("fulfilled");
    expect(failed).toEqual({ status: "rejected", reason: failure });
    expect(last.status).toBe("fulfilled");
    expect(notes()).toEqual(["before", "after"]);
  });

  it("refuses a work that returns a promise, undoing what it wrote before it", async () => {
    const asyncWork = (async () => undefined) as unknown as () => void;

    const refused = store.commit(() => {
      insert("too early")();
      return asyncWork();
    });

    await expect(refused).rejects.toThrow("cannot return a promise");
    expect(notes()).toEqual([]);
  });
});
