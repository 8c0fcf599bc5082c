package io.iotpipe.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.topology.RabbitPasswords;
import io.iotpipe.topology.ServiceAccounts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Enrolls devices and service accounts on a broker and revokes them.
 *
 * <p>A device may publish only its own telemetry and may configure and read nothing:
 * <ul>
 *   <li>vhost permissions: configure {@code ^$}, write only the edge ingress exchange and {@code amq.topic} (where
 *       the MQTT plugin publishes), read {@code ^$};</li>
 *   <li>topic permissions on both exchanges: write {@code ^telemetry\.{username}$} — the broker expands
 *       {@code {username}} to the authenticated user (the certificate's CN, or the password user), so AMQP routing key
 *       {@code telemetry.<id>} and MQTT topic {@code telemetry/<id>} are the only ones it accepts.</li>
 * </ul>
 * Everything goes to the broker in a few {@code POST /api/definitions} (see {@link #importDevices}) instead of
 * 40,000 single calls. Passwords are sent as salted SHA-256 hashes ({@code rabbit_password_hashing_sha256}, the
 * broker's own scheme), so the request body never holds a password either.
 */
public final class Enrollment {

  /** How a device proves who it is. */
  public enum Credential { CERTIFICATE, PASSWORD }

  /** Files of one enrolled device or account (cert/key or password file; the others null). */
  public record Enrolled(String name, Credential credential, Path cert, Path key, Path passwordFile) {

    /** The password, read from its 0600 file (only for handing it to a client library). */
    public Secret password() {
      return passwordFile == null ? Secret.NONE : new Secret(passwordFile.toString(), SecretFiles.read(passwordFile));
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Pki pki;
  private final Names names;
  private final String vhost;

  public Enrollment(Pki pki, Names names, String vhost) {
    this.pki = pki;
    this.names = names;
    this.vhost = vhost;
  }

  public Path passwordFile(String name) {
    return pki.dir().resolve("passwords").resolve(name + ".password");
  }

  /** Issues the credentials of {@code ids} (files only, in parallel: key generation is the slow part). */
  public List<Enrolled> issue(List<String> ids, Credential credential) {
    return issue(ids, credential, null);
  }

  /** As {@link #issue(List, Credential)}, telling {@code progress} every 500 devices. */
  public List<Enrolled> issue(List<String> ids, Credential credential, java.util.function.Consumer<String> progress) {
    return issue(ids, credential, null, progress);
  }

  /** As above; certificates of a {@code tenant} (null: none) name it (SAN {@code urn:iotpipe:tenant:<id>}). */
  public List<Enrolled> issue(List<String> ids, Credential credential, String tenant, java.util.function.Consumer<String> progress) {
    ids.forEach(Pki::checkName);
    try {
      Files.createDirectories(credential == Credential.CERTIFICATE ? pki.clientsDir() : passwordFile("x").getParent());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot create the credentials directory: " + e.getMessage(), e);
    }
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    return IntStream.range(0, ids.size()).parallel().mapToObj(i -> {
      int n = done.incrementAndGet();
      if (progress != null && n % 500 == 0) {
        progress.accept("credentials issued: " + n + "/" + ids.size());
      }
      String id = ids.get(i);
      if (credential == Credential.CERTIFICATE) {
        Pki.Issued c = pki.issueClient(id, tenant);
        return new Enrolled(id, credential, c.cert(), c.key(), null);
      }
      return new Enrolled(id, credential, null, null, writePassword(id));
    }).toList();
  }

  private Path writePassword(String name) {
    Path f = passwordFile(name);
    SecretFiles.writeNew(f, SecretFiles.newPassword().getBytes(StandardCharsets.UTF_8));
    return f;
  }

  /** The definitions document that creates {@code devices} as users with device permissions. */
  public ObjectNode deviceDefinitions(List<Enrolled> devices) {
    ObjectNode defs = emptyDefinitions();
    var topics = ServiceAccounts.deviceTopics(names);
    for (Enrolled d : devices) {
      ServiceAccounts.Account a = ServiceAccounts.device(names, d.name());
      // Tagged so that `topology plan` finds the devices among the users and checks them against this template.
      addUser(defs, d, a.tags());
      addPermission(defs, d.name(), a.configure(), a.write(), a.read());
      topics.forEach((exchange, wr) -> {
        ObjectNode tp = ((ArrayNode) defs.get("topic_permissions")).addObject();
        tp.put("user", d.name());
        tp.put("vhost", vhost);
        tp.put("exchange", exchange);
        tp.put("write", wr.get(0));
        tp.put("read", wr.get(1));
      });
    }
    return defs;
  }

  /** The credentials of service account {@code user} (written by {@code topology apply} with {@code security.passwords} = this PKI's {@code passwords} directory). */
  public Secret servicePassword(String user) {
    Path f = passwordFile(user);
    if (!Files.exists(f)) {
      throw new SecurityException("no password for account " + user + " in " + f.getParent() + ": enroll the service accounts first");
    }
    return new Secret(f.toString(), SecretFiles.read(f));
  }

  private ObjectNode emptyDefinitions() {
    ObjectNode defs = JSON.createObjectNode();
    defs.putArray("users");
    defs.putArray("permissions");
    defs.putArray("topic_permissions");
    return defs;
  }

  private void addUser(ObjectNode defs, Enrolled e, String tags) {
    ObjectNode u = ((ArrayNode) defs.get("users")).addObject();
    u.put("name", e.name());
    // Certificate users get no password hash: the broker then refuses any password login for them.
    u.put("password_hash", e.passwordFile() == null ? "" : hash(SecretFiles.read(e.passwordFile())));
    u.put("hashing_algorithm", RabbitPasswords.SHA256);
    ArrayNode t = u.putArray("tags");
    if (!tags.isEmpty()) {
      t.add(tags);
    }
  }

  private void addPermission(ObjectNode defs, String user, String configure, String write, String read) {
    ObjectNode p = ((ArrayNode) defs.get("permissions")).addObject();
    p.put("user", user);
    p.put("vhost", vhost);
    p.put("configure", configure);
    p.put("write", write);
    p.put("read", read);
  }

  static String hash(String password) {
    return RabbitPasswords.hash(password);
  }

  /** Imports a definitions document in one request (users, permissions, topic permissions; idempotent). */
  public static void importDefinitions(AdminApi api, ObjectNode defs) {
    api.require("POST", "definitions", defs);
  }

  /** Devices per definitions request: small enough to show progress, large enough that requests cost nothing. */
  static final int IMPORT_CHUNK = 2_000;
  /**
   * Definitions requests in flight at once. One: RabbitMQ 3.10 writes each item in its own Mnesia transaction, and
   * those queue behind the node's single transaction manager; measured on a 2-core node (10,000 devices): 1 request
   * 15.3-16.0 s, 2 concurrent 14.5-15.3 s, 4 concurrent 27.7 s.
   */
  static final int IMPORT_PARALLELISM = Integer.getInteger("iotpipe.enroll.importParallelism", 1);

  /**
   * Creates the broker users of {@code devices}: definitions imports of {@link #IMPORT_CHUNK} devices (for progress;
   * the request size does not change the cost), {@link #IMPORT_PARALLELISM} at a time. RabbitMQ 3.10 spends about
   * 0.75 ms per user, 0.1 ms per vhost permission and 0.35 ms per topic permission.
   */
  public void importDevices(AdminApi api, List<Enrolled> devices, java.util.function.Consumer<String> progress) {
    List<List<Enrolled>> chunks = new ArrayList<>();
    for (int i = 0; i < devices.size(); i += IMPORT_CHUNK) {
      chunks.add(devices.subList(i, Math.min(devices.size(), i + IMPORT_CHUNK)));
    }
    if (progress != null) {
      progress.accept("creating " + devices.size() + " broker users (" + chunks.size() + " definitions imports) ...");
    }
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
        Math.max(1, Math.min(IMPORT_PARALLELISM, chunks.size())));
    try {
      List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
      for (List<Enrolled> chunk : chunks) {
        futures.add(pool.submit(() -> {
          importDefinitions(api, deviceDefinitions(chunk));
          int n = done.addAndGet(chunk.size());
          if (progress != null) {
            progress.accept("broker users created: " + n + "/" + devices.size());
          }
        }));
      }
      for (java.util.concurrent.Future<?> f : futures) {
        f.get();
      }
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new SecurityException(e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SecurityException("interrupted while creating broker users (" + done.get() + " of " + devices.size() + " done; "
          + "enrolling again is safe: imports are idempotent)");
    } finally {
      pool.shutdownNow();
    }
  }

  /** What {@link #enroll} did and how long each part took. */
  public record Report(int devices, Credential credential, long issueMillis, long importMillis) {}

  /** Issues credentials for {@code ids} and creates their broker users in one definitions import. */
  public Report enroll(AdminApi api, List<String> ids, Credential credential) {
    return enroll(api, ids, credential, null);
  }

  /** As {@link #enroll(AdminApi, List, Credential)} with progress lines (for long fleets). */
  public Report enroll(AdminApi api, List<String> ids, Credential credential, java.util.function.Consumer<String> progress) {
    return enroll(api, ids, credential, null, null, progress);
  }

  /**
   * As above, the devices belonging to {@code tenant}: their certificates name it and {@code registry} maps them to
   * it — before their broker users exist, so no reading of theirs can arrive before the pipeline knows their tenant.
   */
  public Report enroll(AdminApi api, List<String> ids, Credential credential, String tenant,
                       io.iotpipe.core.tenant.TenantRegistry registry, java.util.function.Consumer<String> progress) {
    if (tenant != null && registry == null) {
      throw new IllegalArgumentException("--tenant needs tenants.registry in the config: the file the sink roles read each device's tenant from");
    }
    long t0 = System.nanoTime();
    List<Enrolled> issued = issue(ids, credential, tenant, progress);
    if (registry != null) {
      if (tenant != null) {
        registry.assign(ids, tenant);
      } else {
        // enrolled again without a tenant: an earlier assignment must not outlive the certificate that named it
        registry.remove(ids);
      }
    }
    long t1 = System.nanoTime();
    importDevices(api, issued, progress);
    long t2 = System.nanoTime();
    return new Report(ids.size(), credential, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
  }

  /**
   * Revokes device {@code id}: deletes its broker user (the broker then closes its open connections, and a
   * certificate login needs the user to exist, so the still-valid certificate is useless), closes any connection
   * still listed for it, and deletes its key, certificate and password files. Returns the connections closed here.
   */
  public int revoke(AdminApi api, String id) {
    Pki.checkName(id);
    AdminApi.Response r = api.call("DELETE", "users/" + AdminApi.enc(id), null);
    if (r.status() >= 300 && r.status() != 404) {
      throw new SecurityException("cannot delete user " + id + " (HTTP " + r.status() + "): " + r.body());
    }
    int closed = 0;
    JsonNode conns = api.require("GET", "connections?columns=name,user", null);
    if (conns != null) {
      for (JsonNode c : conns) {
        if (id.equals(c.path("user").asText())) {
          AdminApi.Response d = api.call("DELETE", "connections/" + AdminApi.enc(c.path("name").asText()), null);
          if (d.status() < 300) {
            closed++;
          }
        }
      }
    }
    try {
      Files.deleteIfExists(pki.clientCert(id));
      Files.deleteIfExists(pki.clientKey(id));
      Files.deleteIfExists(passwordFile(id));
    } catch (java.io.IOException e) {
      throw new SecurityException("user " + id + " is revoked on the broker, but its files could not be deleted: " + e.getMessage(), e);
    }
    return closed;
  }

  /**
   * Devices whose certificate names another tenant than the registry maps them to (certificate and registry are
   * written together at enrollment; a difference means one was edited or restored apart from the other): device id
   * to a one-line description. Password devices have no certificate and are not checked.
   */
  public java.util.Map<String, String> tenantBindingProblems(io.iotpipe.core.tenant.TenantRegistry registry) {
    java.util.Map<String, String> problems = new java.util.TreeMap<>();
    java.util.Map<String, String> mapped = registry.devices();
    try (var certs = Files.list(pki.clientsDir())) {
      for (Path crt : certs.filter(p -> p.getFileName().toString().endsWith(".crt")).toList()) {
        String id = crt.getFileName().toString().replaceFirst("\\.crt$", "");
        String inCert = Pki.tenantOf(crt);
        String inRegistry = mapped.get(id);
        if (!java.util.Objects.equals(inCert, inRegistry)) {
          problems.put(id, "certificate names " + (inCert == null ? "no tenant" : "tenant " + inCert) + ", the registry "
              + (inRegistry == null ? "no tenant" : "tenant " + inRegistry));
        }
      }
    } catch (java.nio.file.NoSuchFileException e) {
      return problems;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot list " + pki.clientsDir() + ": " + e.getMessage(), e);
    }
    return problems;
  }

  /** All device users in {@code ids} as a list, for building fleets: {@code prefix-00001 ...}. */
  public static List<String> fleetIds(String prefix, int n) {
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(String.format("%s-%05d", prefix, i));
    }
    return out;
  }
}
