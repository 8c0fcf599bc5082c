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
    /** Present but different, and safe to replace in place (shovel definitions, users and permissions). */
    UPDATE,
    /** Present but declared absent (the guest user): will be deleted. */
    DELETE,
    /**
     * Present but different, and RabbitMQ cannot change it in place (queue and exchange arguments are fixed at
     * declaration), or the config says not to touch it ({@code security.existingUsers: refuse}). Applying would
     * fail half-way or overrule the operator, so apply refuses the whole plan.
     */
    CONFLICT
  }

  /** Whether apply sends this change to the broker. */
  public boolean pending() {
    return action == Action.CREATE || action == Action.UPDATE || action == Action.DELETE;
  }

  public String describe() {
    return action.name().toLowerCase() + " " + declaration.describe() + (detail == null ? "" : ": " + detail);
  }
}
