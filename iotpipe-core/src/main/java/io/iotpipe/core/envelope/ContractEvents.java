package io.iotpipe.core.envelope;

/**
 * What the contract decided about a reading that was not exactly what this reader expects, reported by
 * {@link TelemetryCodec} so each decision can be counted (a metric per decision: an operator sees a firmware rollout
 * or a drifting clock before anyone asks where the data went).
 *
 * <p>Decisions of a reading that is dead-lettered for another reason are not reported, except the rejections
 * themselves: nothing was kept or dropped of a reading that did not land.
 */
public interface ContractEvents {

  /** What happened to one unknown top-level field (or one entry of a v2 {@code attributes} object). */
  enum FieldDecision {
    /** stored in the reading's attributes */
    KEPT,
    /** dropped by {@code contract.unknownFields: drop} */
    DROPPED,
    /** dropped because it did not fit {@code contract.attributes.maxFields} or {@code maxBytes} */
    OVER_LIMIT,
    /** dropped: its name is not one a sink can store safely (see the README) */
    INVALID_NAME,
    /** the reading was dead-lettered: {@code contract.unknownFields: reject} */
    REJECTED
  }

  /** What happened to a reading whose {@code ts} lay more than {@code contract.maxFutureSkew} ahead. */
  enum FutureDecision {
    /** stored with the device's time, flagged */
    KEPT,
    /** stored with the receive time, the device's kept */
    RECEIVE_TIME,
    /** dead-lettered */
    REJECTED
  }

  /**
   * @param field the field's name when it is a safe name, else null (a name from the input must never become a
   *              metric label unchecked)
   */
  void unknownField(String field, FieldDecision decision);

  void futureTimestamp(FutureDecision decision);

  /** A reading of envelope version {@code v} landed (1 when the body has no {@code v}). */
  void envelope(int v);

  ContractEvents NONE = new ContractEvents() {
    @Override
    public void unknownField(String field, FieldDecision decision) {}

    @Override
    public void futureTimestamp(FutureDecision decision) {}

    @Override
    public void envelope(int v) {}
  };
}
