/** The last item that matches, looking from the end (hook spools grow at the end). */
export function lastOf<T>(items: readonly T[], pred: (t: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) return items[i];
  return undefined;
}
