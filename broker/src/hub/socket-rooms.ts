/**
 * The rooms a socket is in, as its membership entry keeps them. Most sockets are only in their own
 * room (named by their id) for their whole life: that one is held in a field, and a Set (about
 * 0.18 KB even with one member) is made when a second room comes. Iterates in the order rooms were
 * added, as a Set does.
 */
export class SocketRooms implements Iterable<string> {
  /** The one room, while there is at most one and no Set. */
  private one: string | undefined;
  private many: Set<string> | undefined;

  get size(): number {
    return this.many ? this.many.size : this.one === undefined ? 0 : 1;
  }

  has(room: string): boolean {
    return this.many ? this.many.has(room) : this.one === room;
  }

  add(room: string): void {
    if (this.many) this.many.add(room);
    else if (this.one === undefined || this.one === room) this.one = room;
    else {
      this.many = new Set([this.one, room]);
      this.one = undefined;
    }
  }

  delete(room: string): boolean {
    if (this.many) return this.many.delete(room);
    if (this.one !== room) return false;
    this.one = undefined;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    if (this.many) yield* this.many;
    else if (this.one !== undefined) yield this.one;
  }
}
