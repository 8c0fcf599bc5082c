package io.iotpipe.topology;

/**
 * What applying one {@link Declaration} does to a broker.
 *
 * @param action what happens
 * @param declaration the wanted declaration
 * @param detail for {@link Action#CONFLICT} and {@link Action#UPDATE}: which fields differ, wanted vs. found
 */
public record Change(Action action, Declaration declaration, String detail) {

  public enum Action {
    /** Missing on the broker: will be declared. */
    CREATE,
    /** Present and equal: nothing to do. */
    UNCHANGED,
    /** Present but different, and safe to replace in place (shovel definitions). */
    UPDATE,
    /**
     * Present but different, and RabbitMQ cannot change it in place (queue and exchange arguments are fixed at
     * declaration). Applying would fail with PRECONDITION_FAILED half-way, so apply refuses the whole plan.
     */
    CONFLICT
  }

  public String describe() {
    return action.name().toLowerCase() + " " + declaration.describe() + (detail == null ? "" : ": " + detail);
  }
}
