package io.iotpipe.cli.index;

import io.iotpipe.elasticsearch.LogstashConfig;

import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code iotpipe logstash-config}: prints the equivalent Logstash pipeline. */
@Command(name = "logstash-config", mixinStandardHelpOptions = true,
    description = "Print a Logstash pipeline equivalent to `iotpipe index` (rabbitmq input per elk queue -> elasticsearch output, same ids and indices).")
public final class LogstashConfigCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin ConfigOption config;

  @Override
  public Integer call() {
    String rendered;
    try {
      rendered = LogstashConfig.render(config.load());
    } catch (IllegalArgumentException e) {
      throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    System.out.print(rendered);
    return ExitCode.OK;
  }
}
