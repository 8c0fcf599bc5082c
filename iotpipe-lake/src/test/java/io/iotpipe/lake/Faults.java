package io.iotpipe.lake;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a commit is made to fail or "crash" in the tests, in the order the steps happen. One instance per simulated
 * process; {@link FaultyFileIO} and {@link FaultyOperations} consult it. A crash throws {@link Crash} (an
 * {@code Error}, so no product code mistakes it for a failure it could handle) and from then on every call through
 * this process's I/O throws too: the process is gone, whatever it still holds is abandoned.
 */
final class Faults {

  enum Step { DATA_FILE, STAGE_RECORD, STAGE_RECORD_ANSWER_LOST, STATE_FILE, MANIFEST, MANIFEST_LIST, METADATA_FILE, CATALOG_SWAP, SWAP_ANSWER_LOST, ACK }

  enum Kind { FAIL, CRASH }

  static final class Crash extends Error {
    Crash(String message) {
      super(message);
    }
  }

  private static final Map<String, Faults> REGISTRY = new ConcurrentHashMap<>();

  final String id = java.util.UUID.randomUUID().toString();
  private volatile Step armed;
  private volatile Kind kind;
  private volatile boolean dead;
  private volatile boolean fired;

  Faults() {
    REGISTRY.put(id, this);
  }

  static Faults byId(String id) {
    return REGISTRY.get(id);
  }

  /** Fires once, at the next time {@code step} happens. */
  void arm(Step step, Kind kind) {
    this.armed = step;
    this.kind = kind;
    this.fired = false;
  }

  boolean fired() {
    return fired;
  }

  void crashNow() {
    dead = true;
  }

  /** Called before each step; throws the armed fault once, and always once the process has crashed. */
  void at(Step step) throws java.io.IOException {
    if (dead) {
      throw new Crash("process crashed earlier");
    }
    if (step == armed && !fired) {
      fired = true;
      if (kind == Kind.CRASH) {
        dead = true;
        throw new Crash("injected crash at " + step);
      }
      throw new java.io.IOException("injected failure at " + step);
    }
  }

  void checkAlive() {
    if (dead) {
      throw new Crash("process crashed earlier");
    }
  }
}
