/**
 * The relay's internal tag in the disguises an attacker would try (case, full width, zero-width
 * and bidi characters, accents, Cyrillic and small-capital look-alikes): every one must be
 * neutralized in every human channel.
 */
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";

export const SPOOFED_INTERNAL_TAGS: readonly string[] = [
  INTERNAL_ALERT_TAG,
  "[internal security alert]",
  "INTERNAL ALERT",
  "INTERNAL_SECURITY_ALERT",
  "［ＩＮＴＥＲＮＡＬ ＳＥＣＵＲＩＴＹ ＡＬＥＲＴ］",
  "[INTERNAL\u200b SECURITY\u202e ALERT]",
  "[ÍNTERNAL SECURITY ALERT]",
  "[INTЕRNAL SЕCURITY АLЕRT]",
  "[ɪɴᴛᴇʀɴᴀʟ ꜱᴇᴄᴜʀɪᴛʏ ᴀʟᴇʀᴛ]",
];
