package io.iotpipe.cli.dlq;

import io.iotpipe.runtime.dlq.DeadLetters;

import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.Reasons;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe dlq list|show|replay --sink elk|storage}: inspect and replay dead-lettered messages. */
@Command(name = "dlq", mixinStandardHelpOptions = true, description = "Inspect and replay dead-lettered messages.",
    subcommands = {DlqCommand.ListReasons.class, DlqCommand.Show.class, DlqCommand.Replay.class})
public final class DlqCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  abstract static class Base implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--sink", required = true, description = "elk or storage (a name from topology.sinks).")
    String sink;

    @Option(names = "--max", defaultValue = "10000", description = "Look at most at this many messages (default: ${DEFAULT-VALUE}).")
    int max;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    final Output out = new Output();

    DeadLetters open() {
      IotpipeConfig cfg = config.load();
      if (!cfg.topology().sinks().contains(sink)) {
        throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, "unknown sink \"" + sink + "\" (configured: " + cfg.topology().sinks() + ")");
      }
      return new DeadLetters(cfg.sinkBroker(), cfg.topology().names());
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Count dead-lettered messages by reason (nothing is removed).")
  static final class ListReasons extends Base {
    @Override
    public Integer call() throws Exception {
      try (DeadLetters d = open()) {
        Map<String, Integer> counts = d.countByReason(sink, max);
        if (json) {
          out.printJson(Map.of("sink", sink, "total", counts.values().stream().mapToInt(Integer::intValue).sum(), "byReason", counts));
        } else if (counts.isEmpty()) {
          System.out.println("dead-letter queue of " + sink + " is empty");
        } else {
          System.out.printf("%8s  %s%n", "count", "reason");
          counts.forEach((reason, n) -> System.out.println(listLine(n, reason)));
        }
      }
      return ExitCode.OK;
    }
  }

  // Reasons, ids and bodies come from messages (a device id with a newline would forge a line): the text output
  // escapes and bounds them; --json prints them exactly, JSON escaping makes that safe.
  static String listLine(int count, String reason) {
    return String.format("%8d  %s", count, Reasons.sanitize(reason));
  }

  static String showEntry(DeadLetters.Letter l) {
    return String.format("- %s (from %s at %s)%n  reason: %s%n  body:   %s%n", Reasons.sanitize(l.messageId(), 100),
        Reasons.sanitize(l.source(), 100), Reasons.sanitize(l.deadLetteredAt(), 100), Reasons.sanitize(l.reason()),
        Reasons.sanitize(l.body()));
  }

  /** The filter also matches the text as {@code list} and {@code show} print it (escaped), as a user copies it. */
  static boolean reasonMatches(String reason, String contains) {
    return contains == null || reason.contains(contains) || Reasons.sanitize(reason, Integer.MAX_VALUE).contains(contains);
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "Show sample dead-lettered messages with their reasons (nothing is removed).")
  static final class Show extends Base {
    @Option(names = "--limit", defaultValue = "10", description = "How many to show (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() throws Exception {
      try (DeadLetters d = open()) {
        var letters = d.peek(sink, Math.min(limit, max));
        if (json) {
          out.printJson(letters);
        } else {
          for (var l : letters) {
            System.out.print(showEntry(l));
          }
        }
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "replay", mixinStandardHelpOptions = true,
      description = "Republish dead-lettered messages to the partition queue they came from (after you fixed the cause).")
  static final class Replay extends Base {
    @Option(names = "--reason-contains", description = "Only messages whose reason contains this text (as stored, or as list/show print it).")
    String reasonContains;

    @Override
    public Integer call() throws Exception {
      try (DeadLetters d = open()) {
        int n = d.replay(sink, max, l -> reasonMatches(l.reason(), reasonContains));
        if (json) {
          out.printJson(Map.of("sink", sink, "replayed", n));
        } else {
          System.out.println("replayed " + n + " message(s) from the dead-letter queue of " + sink);
        }
      }
      return ExitCode.OK;
    }
  }
}
