package io.iotpipe.core.envelope;

import io.iotpipe.core.Reasons;
import java.util.List;

/** Result of decoding one message body: either a valid reading or the list of everything wrong with it. */
public sealed interface Decoded {

  record Valid(Telemetry telemetry) implements Decoded {}

  /**
   * @param errors one entry per problem, each naming the field and why, e.g. {@code "seq: must be >= 1, was -3"};
   *               stored {@linkplain Reasons#sanitize(String) sanitized} (they quote input)
   */
  record Invalid(List<String> errors) implements Decoded {
    public Invalid {
      errors = errors.stream().map(Reasons::sanitize).toList();
      if (errors.isEmpty()) {
        throw new IllegalArgumentException("an invalid message needs at least one reason");
      }
    }

    /** One line for a dead-letter header or a log line: no control characters, at most {@link Reasons#MAX_LENGTH}. */
    public String reason() {
      return Reasons.sanitize(String.join("; ", errors));
    }
  }
}
