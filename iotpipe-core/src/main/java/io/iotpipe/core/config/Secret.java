package io.iotpipe.core.config;

/**
 * A credential resolved from the environment. {@link #toString()} never reveals the value, so a secret can pass
 * through logs, exceptions and {@code config check} output safely; only {@link #reveal()} returns it, at the one
 * place that hands it to a client library.
 *
 * @param reference where it came from, e.g. {@code ${IOTPIPE_CLOUD_PASSWORD}} (safe to print)
 */
public record Secret(String reference, String value) {

  public static final Secret NONE = new Secret("", null);

  public String reveal() {
    return value;
  }

  public boolean isSet() {
    return value != null;
  }

  @Override
  public String toString() {
    return isSet() ? "****(" + reference + ")" : "(none)";
  }
}
