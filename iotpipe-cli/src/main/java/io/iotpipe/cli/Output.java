package io.iotpipe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.PrintStream;

/**
 * How commands talk to people and scripts: results on stdout (a table or, with {@code --json}, one JSON document),
 * progress and diagnostics on stderr so that {@code --json | jq} always gets clean JSON.
 */
public final class Output {
  private static final ObjectMapper JSON = JsonMapper.builder().findAndAddModules()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();

  private final boolean interactive = System.console() != null;
  private long lastProgress;

  public static ObjectMapper json() {
    return JSON;
  }

  /** Prints a value (record, map, list) as pretty JSON to stdout. */
  public void printJson(Object value) {
    try {
      System.out.println(JSON.writeValueAsString(value));
    } catch (Exception e) {
      throw new IllegalStateException("cannot render JSON: " + e.getMessage(), e);
    }
  }

  /**
   * Shows a progress line on stderr: rewritten in place on a terminal, one line every few seconds otherwise (so CI
   * logs show progress without flooding).
   */
  public synchronized void progress(String line) {
    long now = System.nanoTime();
    PrintStream err = System.err;
    if (interactive) {
      err.print("\r\033[K" + line);
      err.flush();
    } else if (now - lastProgress > 5_000_000_000L) {
      err.println(line);
      lastProgress = now;
    }
  }

  /** Ends a progress line so that following output starts on a fresh line. */
  public synchronized void endProgress() {
    if (interactive) {
      System.err.println();
    }
  }

  public void info(String line) {
    System.err.println(line);
  }
}
