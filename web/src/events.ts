// A small typed event emitter: `on`/`off` like the ACS web SDK, listeners called in order.

type Listener<T> = (args: T) => void;

/** Events keyed by name, each with one argument object. */
export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Calls `listener` for every `event` from now on. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
  }

  /** Stops calling `listener`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Delivers `event`; a listener that throws is reported and the others still run. */
  protected emit<K extends keyof Events>(event: K, args: Events[K]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        (l as Listener<Events[K]>)(args);
      } catch (e) {
        console.error(`acscalling: a '${String(event)}' listener threw`, e);
      }
    }
  }
}
