package io.iotpipe.core.envelope;

import java.util.List;

/** Result of decoding one message body: either a valid reading or the list of everything wrong with it. */
public sealed interface Decoded {

  record Valid(Telemetry telemetry) implements Decoded {}

  /** @param errors one entry per problem, each naming the field and why, e.g. {@code "seq: must be >= 1, was -3"} */
  record Invalid(List<String> errors) implements Decoded {
    public Invalid {
      errors = List.copyOf(errors);
    }

    /** One line for a dead-letter header or a log line. */
    public String reason() {
      return String.join("; ", errors);
    }
  }
}
