// Wording of notices that collapse: a page can open dev.keyfob.app: links over and over, and
// the window shows one notice that counts them rather than one notice each.

/** The notice for `count` ignored sign-in responses, the latest refused for `reason`. */
export function ignoredNotice(count: number, reason: string): string {
  return count <= 1 ? `Ignored a sign-in response: ${reason}` : `Ignored ${count} sign-in responses. The latest: ${reason}`;
}
