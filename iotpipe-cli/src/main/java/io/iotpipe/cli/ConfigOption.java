package io.iotpipe.cli;

import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --config FILE} option, shared by every command that reads the pipeline configuration. */
public final class ConfigOption {

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "iotpipe.yaml",
      description = "Pipeline configuration (default: ${DEFAULT-VALUE}).")
  public Path file;

  /** Loads and validates the file; an invalid one becomes a usage failure listing every error. */
  public IotpipeConfig load() {
    return load((java.util.Set<String>) null);
  }

  /**
   * Loads only the top-level sections a command uses (e.g. {@code storage} for {@code query}): the others are
   * neither checked nor their environment references resolved, so a command needs no secret it does not use.
   */
  public IotpipeConfig loadSections(String... sections) {
    return load(java.util.Set.of(sections));
  }

  private IotpipeConfig load(java.util.Set<String> sections) {
    if (!Files.exists(file)) {
      throw new CommandFailure(ExitCode.USAGE, "config file " + file.toAbsolutePath()
          + " does not exist (pass --config FILE; iotpipe.example.yaml in the repository is a starting point)");
    }
    try {
      return IotpipeConfig.load(file, System::getenv, sections);
    } catch (ConfigException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
  }
}
