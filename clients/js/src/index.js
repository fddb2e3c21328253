export { DarkroomClient } from "./client.js";
export { DarkroomError } from "./errors.js";
export { signVariantUrl } from "./signing.js";
