package io.iotpipe.sink;

/**
 * Health of one component (a sink, a broker connection) as {@code /health} reports it.
 *
 * @param state  UP: working; DEGRADED: working around a problem (retrying, reconnecting) without losing anything;
 *               DOWN: needs an operator (a committed file vanished, no broker for longer than the threshold)
 * @param reason why, for operators; empty when UP
 */
public record SinkHealth(State state, String reason) {

  public enum State { UP, DEGRADED, DOWN }

  public static final SinkHealth UP = new SinkHealth(State.UP, "");

  public static SinkHealth degraded(String reason) {
    return new SinkHealth(State.DEGRADED, reason);
  }

  public static SinkHealth down(String reason) {
    return new SinkHealth(State.DOWN, reason);
  }

  /** The worse of the two (DOWN over DEGRADED over UP); the first reason wins on a tie. */
  public SinkHealth worst(SinkHealth other) {
    return other.state.ordinal() > state.ordinal() ? other : this;
  }
}
