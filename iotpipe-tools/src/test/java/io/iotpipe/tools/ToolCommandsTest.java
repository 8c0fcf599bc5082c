package io.iotpipe.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The tooling adds its commands to the product's CLI through the same ServiceLoader, next to the product's. */
class ToolCommandsTest {

  @Test
  void toolCommandsJoinTheProductCommandsWithHelp() {
    StringWriter out = new StringWriter();
    var cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    assertThat(cli.execute("--help")).isZero();
    for (String cmd : new String[] {"demo", "chaos", "bench", "broker", "simulate", "run", "topology", "query"}) {
      assertThat(out.toString()).contains(cmd);
      var c = Main.commandLine();
      c.setOut(new PrintWriter(new StringWriter(), true));
      assertThat(c.execute(cmd, "--help")).as(cmd + " --help").isZero();
    }
  }
}
