package io.iotpipe.runtime;

/** A role a pipeline process can take; each role consumes one sink's partition queues. */
public enum Role {
  /** The search path: consumes the {@code elk} queues into Elasticsearch/OpenSearch. */
  INDEX("elk"),
  /** The analytics path: consumes the {@code storage} queues into files. */
  STORE("storage");

  private final String sink;

  Role(String sink) {
    this.sink = sink;
  }

  public String sink() {
    return sink;
  }
}
