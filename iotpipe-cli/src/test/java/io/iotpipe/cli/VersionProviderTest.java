package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class VersionProviderTest {

  @Test
  void versionNamesTheCommitTheBuildCameFrom() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    var cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    assertThat(cli.execute("--version")).isZero();
    String text = out.toString(StandardCharsets.UTF_8);
    // The build runs in a git checkout: the version file carries the full commit id of HEAD.
    assertThat(text).containsPattern("iotpipe \\d+\\.\\d+\\.\\d+").containsPattern("commit [0-9a-f]{40}\\R");
  }

  @Test
  void aBuildOutsideGitSaysCommitUnknownInsteadOfGuessing() {
    for (String commit : new String[] {"unknown", "${buildNumber}", ""}) {
      Properties p = new Properties();
      p.setProperty("version", "1.2.3");
      p.setProperty("commit", commit);
      assertThat(VersionProvider.lines(p)).startsWith("iotpipe 1.2.3", "commit unknown (built outside a git checkout)");
    }
  }
}
