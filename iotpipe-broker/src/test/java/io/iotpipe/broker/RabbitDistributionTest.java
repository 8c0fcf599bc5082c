package io.iotpipe.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RabbitDistributionTest {

  @Test
  void theSettingNamesTrixieByDefaultOrTheHostAndRefusesAnythingElse() {
    assertThat(RabbitDistribution.of(null).id()).isEqualTo("4.0");
    assertThat(RabbitDistribution.of("").chrooted()).isTrue();
    assertThat(RabbitDistribution.of(" 3.10 ").id()).isEqualTo("3.10");
    assertThat(RabbitDistribution.of("host").chrooted()).isFalse();
    assertThat(RabbitDistribution.of("4").chrooted()).isTrue();
    assertThatThrownBy(() -> RabbitDistribution.of("3.13")).isInstanceOf(BrokerException.class)
        .hasMessageContaining("use 4.0").hasMessageContaining("4.3").hasMessageContaining("3.10");
    assertThat(RabbitDistribution.of("4.3").root().getFileName().toString()).isEqualTo("rabbitmq-4.3");
  }

  @Test
  void hostCommandsRunTheBinariesDirectly() {
    assertThat(RabbitDistribution.of("3.10").command(List.of(Path.of("/tmp/n")), "rabbitmqctl", "-n", "a@localhost", "status"))
        .containsExactly("/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", "a@localhost", "status");
  }

  @Test
  void rootCommandsMountTheirDirectoriesInAPrivateNamespaceParentsFirst() {
    RabbitDistribution d = RabbitDistribution.of("4.0");
    List<String> cmd = d.command(List.of(Path.of("/tmp/x/node"), Path.of("/tmp/x"), Path.of("/tmp/x/node")), "rabbitmq-server", "-detached");
    assertThat(cmd.subList(0, 4)).containsExactly("unshare", "--mount", "--propagation", "private");
    int root = cmd.indexOf(d.root().toString());
    assertThat(cmd.subList(root + 1, cmd.size()))
        .containsExactly("/tmp/x", "/tmp/x/node", "--", "/usr/lib/rabbitmq/bin/rabbitmq-server", "-detached");
  }

  @Test
  void aMissingRootIsRefusedWithTheCommandThatMakesIt(@TempDir Path dir) throws Exception {
    System.setProperty("iotpipe.rabbitmq4.root", dir.resolve("nothing-here").toString());
    try {
      assertThatThrownBy(() -> RabbitDistribution.of("4.0").ensureInstalled()).isInstanceOf(BrokerException.class)
          .hasMessageContaining("scripts/rabbitmq4-root.sh " + dir.resolve("nothing-here"));
      Files.createDirectories(dir.resolve("nothing-here"));
      // a root without its stamp is unfinished, whatever it holds
      assertThatThrownBy(() -> RabbitDistribution.of("4.0").ensureInstalled()).isInstanceOf(BrokerException.class);
    } finally {
      System.clearProperty("iotpipe.rabbitmq4.root");
    }
  }
}
