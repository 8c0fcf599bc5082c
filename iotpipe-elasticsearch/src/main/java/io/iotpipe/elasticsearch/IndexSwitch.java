package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Points the live index names at the indices a rebuild wrote beside them ({@code iotpipe reindex --index-suffix S
 * --switch}): after it, {@code telemetry-2026.12.06} is an alias of {@code telemetry-2026.12.06-S} and the old index is
 * gone, so searches by name or by pattern ({@code telemetry-20*}: an index reached both by its own name and through an
 * alias is searched once) and the live indexer's writes (an alias of one index takes writes) go on under the same names.
 *
 * <p>Per live name, in this order: (1) the engine copies every document of the old index that the new one lacks
 * ({@code _reindex}, events with {@code op_type create}, latest state with external versions so the higher
 * {@code seq} wins) — readings the live indexer wrote that the store did not hold yet (it lags by its roll age) or that
 * lie outside the replayed range; (2) the old index is blocked for writes (the live indexer's writes to it are then
 * retried, not lost), and what reached it since (1) began is copied again; (3) one {@code _aliases} request adds the
 * alias and removes the old index, atomically. A failure before (3) lifts the block and leaves the live name as it was.
 * A second switch (S2 over an alias that points to S) works the same way; a live name already pointing at the new
 * index is left alone, so a switch that stopped halfway is finished by running it again.
 */
public final class IndexSwitch implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * How far before the first copy began the second one looks ({@code ingestTs} is the indexer's clock when it encoded
   * the bulk): a bulk encoded before but indexed after the first copy's snapshot, and a clock difference between the
   * indexer's host and this one.
   */
  private static final Duration DELTA_MARGIN = Duration.ofMinutes(10);

  /**
   * One live name to switch.
   *
   * @param live    the name searches and the live indexer use
   * @param current the index it resolves to now (itself when it is an index), or null when it does not exist
   * @param fresh   the rebuilt index it will resolve to
   * @param latest  a latest-state index (copied by version, not by create)
   */
  public record Step(String live, String current, String fresh, boolean latest) {
    public boolean done() {
      return fresh.equals(current);
    }
  }

  /** What a switch did for one live name: documents copied from the old index in the two rounds. */
  public record Switched(String live, String from, String to, long copied, double seconds) {}

  /** The switch cannot go on; the message names the fix. Nothing switched before it is undone. */
  public static final class Refused extends IllegalStateException {
    Refused(String message) {
      super(message);
    }
  }

  private final IndexerConfig cfg;
  private final String suffix;
  private final String tenant;
  private final EsClient client;
  private final Consumer<String> progress;
  private final Consumer<String> switched;

  /**
   * @param suffix   the rebuild's {@code --index-suffix}
   * @param tenant   only this tenant's indices, or null for all of them
   * @param progress receives a line while a copy runs, may be null
   * @param switched receives a line per live name switched (or found switched), may be null
   */
  public IndexSwitch(IndexerConfig cfg, String suffix, String tenant, Consumer<String> progress, Consumer<String> switched) {
    this.cfg = cfg;
    this.suffix = suffix;
    this.tenant = tenant;
    this.client = new EsClient(cfg);
    this.progress = progress == null ? s -> { } : progress;
    this.switched = switched == null ? s -> { } : switched;
  }

  /** The index patterns holding the rebuilt indices (events and latest state, every tenant's). */
  String freshPatterns() {
    String p = cfg.indexPrefix() + "-20*-" + suffix + "*";
    return cfg.latestState() ? p + "," + cfg.latestIndex() + "-" + suffix + "*" : p;
  }

  /**
   * The live name of {@code fresh}, or null when it is not a rebuilt index of this suffix (and tenant): the suffix
   * taken out before the tenant part ({@code telemetry-2026.12.06-v2.tenant-a} is {@code telemetry-2026.12.06.tenant-a}).
   */
  static String liveName(String fresh, String suffix, String base, String tenant) {
    Matcher m = Pattern.compile(Pattern.quote(base) + "(.*)" + Pattern.quote("-" + suffix) + "(" + Pattern.quote(TenantIndices.INFIX)
        + "[^.]+)?").matcher(fresh);
    if (!m.matches() || m.group(1).contains(TenantIndices.INFIX)) {
      return null; // e.g. tenant x-v2's live index telemetry-2026.12.06.tenant-x-v2
    }
    String tenantPart = m.group(2) == null ? "" : m.group(2);
    if (tenant != null && !tenantPart.equals(TenantIndices.INFIX + tenant)) {
      return null;
    }
    return base + m.group(1) + tenantPart;
  }

  /** Which rebuilt index each live name will resolve to, and what it resolves to now. Changes nothing. */
  public List<Step> plan() {
    EsClient.Response r = client.sendSync("GET", "/_cat/indices/" + freshPatterns() + "?format=json&h=index&expand_wildcards=open", null);
    List<String> names = new ArrayList<>();
    if (r.status() != 404) {
      check(r, "listing the rebuilt indices " + freshPatterns());
      tree(r).forEach(n -> names.add(n.path("index").asText()));
    }
    Map<String, Step> steps = new TreeMap<>();
    for (String fresh : names) {
      String live = liveName(fresh, suffix, cfg.indexPrefix() + "-20", tenant);
      boolean latest = false;
      if (live == null && cfg.latestState()) {
        live = liveName(fresh, suffix, cfg.latestIndex(), tenant);
        latest = live != null;
      }
      if (live != null) {
        steps.put(live, new Step(live, current(live, fresh), fresh, latest));
      }
    }
    if (steps.isEmpty()) {
      throw new Refused("no rebuilt index to switch to: nothing matches " + freshPatterns()
          + (tenant == null ? "" : " for tenant " + tenant) + "; rebuild with the same --index-suffix " + suffix
          + " first (check the suffix, and --since/--until: the store may hold nothing there)");
    }
    // the latest state last: its live name serves dashboards that read every charger's state at once
    List<Step> out = new ArrayList<>(steps.values().stream().filter(s -> !s.latest()).toList());
    out.addAll(steps.values().stream().filter(Step::latest).toList());
    return out;
  }

  /**
   * What {@code live} resolves to: itself (an index), the one index it is an alias of, or null (missing). An alias of
   * several indices, or of an index this command did not build, is refused: switching would delete what it points to.
   */
  private String current(String live, String fresh) {
    EsClient.Response r = client.sendSync("GET", "/" + live + "/_alias", null);
    if (r.status() == 404) {
      return null;
    }
    check(r, "looking up " + live);
    List<String> targets = new ArrayList<>();
    tree(r).fieldNames().forEachRemaining(targets::add);
    return resolve(live, fresh, targets);
  }

  /** {@link #current} on the engine's answer: the indices {@code live} resolves to. */
  static String resolve(String live, String fresh, List<String> targets) {
    if (targets.size() == 1 && targets.get(0).equals(live)) {
      return live;
    }
    if (targets.size() != 1) {
      throw new Refused(live + " is an alias of " + targets.size() + " indices " + targets + ": the live indexer could not write"
          + " through it and a switch would not know which to replace; remove the alias (POST /_aliases with a \"remove\" action)"
          + " or point it at one index, then run again");
    }
    String target = targets.get(0);
    int tenantAt = live.indexOf(TenantIndices.INFIX);
    String base = tenantAt < 0 ? live : live.substring(0, tenantAt);
    String tenantPart = tenantAt < 0 ? "" : live.substring(tenantAt);
    boolean ours = target.equals(fresh) || target.startsWith(base + "-") && target.endsWith(tenantPart)
        && target.length() > base.length() + 1 + tenantPart.length();
    if (!ours) {
      throw new Refused(live + " is already an alias of " + target + ", which is not a rebuild of it (" + base + "-<suffix>"
          + tenantPart + "): a switch would delete " + target + "; remove the alias (POST /_aliases {\"actions\":[{\"remove\":"
          + "{\"index\":\"" + target + "\",\"alias\":\"" + live + "\"}}]}) or switch it by hand, then run again");
    }
    return target;
  }

  /** Switches every step in turn; returns what each did. Throws {@link Refused} at the first one that fails. */
  public List<Switched> run(List<Step> steps) {
    List<Switched> out = new ArrayList<>();
    for (Step s : steps) {
      long t0 = System.nanoTime();
      if (s.done()) {
        switched.accept("switch: " + s.live() + " already points to " + s.fresh());
        continue;
      }
      long copied = 0;
      if (s.current() != null) {
        Instant firstCopy = Instant.now();
        copied += copy(s, null);
        block(s.current(), true);
        try {
          copied += copy(s, firstCopy.minus(DELTA_MARGIN).minus(cfg.requestTimeout()));
          swap(s);
        } catch (RuntimeException e) {
          try {
            block(s.current(), false);
          } catch (RuntimeException again) {
            e.addSuppressed(again);
            throw new Refused(e.getMessage() + "; and lifting the write block failed (" + again.getMessage() + "): the live indexer"
                + " cannot write to " + s.current() + " until you run PUT /" + s.current() + "/_settings {\"index.blocks.write\": false}"
                + " or this command again");
          }
          throw e;
        }
      } else {
        swap(s);
      }
      Switched done = new Switched(s.live(), s.current(), s.fresh(), copied, Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
      switched.accept("switch: " + s.live() + " -> " + s.fresh() + (s.current() == null ? " (it did not exist)"
          : ", " + copied + " documents only " + s.current() + " held copied, " + s.current() + " removed"));
      out.add(done);
    }
    return out;
  }

  /** The {@code _reindex} body copying what {@code to} lacks from {@code from} (since {@code ingestedSince}, if set). */
  static ObjectNode copyBody(String from, String to, boolean latest, Instant ingestedSince) {
    ObjectNode b = JSON.createObjectNode();
    // documents the rebuild wrote already are conflicts, the expected case, not failures
    b.put("conflicts", "proceed");
    ObjectNode source = b.putObject("source");
    source.put("index", from);
    if (ingestedSince != null) {
      source.putObject("query").putObject("range").putObject("ingestTs").put("gte", DateTimeFormatter.ISO_INSTANT.format(ingestedSince));
    }
    ObjectNode dest = b.putObject("dest");
    dest.put("index", to);
    if (latest) {
      // the old index's versions are seqs (the indexer writes latest state with external versions): the higher one wins
      dest.put("version_type", "external");
    } else {
      dest.put("op_type", "create");
    }
    return b;
  }

  /** The one {@code _aliases} request: the alias added and the old index removed together, or the alias alone. */
  static ObjectNode swapBody(Step s) {
    ObjectNode b = JSON.createObjectNode();
    var actions = b.putArray("actions");
    actions.addObject().putObject("add").put("index", s.fresh()).put("alias", s.live());
    if (s.current() != null) {
      actions.addObject().putObject("remove_index").put("index", s.current());
    }
    return b;
  }

  private void swap(Step s) {
    EsClient.Response r = client.sendSync("POST", "/_aliases", swapBody(s).toString());
    if (r.status() >= 300) {
      throw new Refused("switching " + s.live() + " to " + s.fresh() + " failed (HTTP " + r.status() + ": " + head(r.text())
          + ")" + (s.current() == null ? "; the live indexer may have created " + s.live() + " meanwhile: run again" : "")
          + "; " + s.live() + " still resolves to " + (s.current() == null ? "nothing" : s.current()));
    }
  }

  /** Refreshes {@code from} (a copy reads what a search sees) and copies into the new index; returns documents copied. */
  private long copy(Step s, Instant ingestedSince) {
    check(client.sendSync("POST", "/" + s.current() + "/_refresh", null), "refreshing " + s.current());
    EsClient.Response r = client.sendSync("POST", "/_reindex?wait_for_completion=false&refresh=true",
        copyBody(s.current(), s.fresh(), s.latest(), ingestedSince).toString());
    check(r, "copying " + s.current() + " into " + s.fresh());
    String task = tree(r).path("task").asText();
    String what = (ingestedSince == null ? "copying what only " : "copying what reached ") + s.current()
        + (ingestedSince == null ? " holds" : " since the first copy (writes to it blocked)") + " into " + s.fresh();
    while (true) {
      JsonNode t = tree(check(client.sendSync("GET", "/_tasks/" + task, null), "following the copy task " + task));
      JsonNode status = t.path("task").path("status");
      if (t.path("completed").asBoolean()) {
        JsonNode resp = t.path("response");
        JsonNode error = t.path("error");
        if (error.isObject() || resp.path("failures").size() > 0) {
          JsonNode f = error.isObject() ? error : resp.path("failures").get(0);
          throw new Refused(what + " failed: " + head(f.toString()) + "; " + s.live() + " is unchanged, run again once that is fixed");
        }
        return resp.path("created").asLong() + resp.path("updated").asLong();
      }
      progress.accept(String.format(java.util.Locale.ROOT, "switch: %s, %,d of %,d documents (%,d present already)", what,
          status.path("created").asLong() + status.path("updated").asLong(), status.path("total").asLong(),
          status.path("version_conflicts").asLong()));
      try {
        TimeUnit.MILLISECONDS.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Refused("interrupted while " + what + " (the engine's task " + task + " goes on); " + s.live() + " is unchanged");
      }
    }
  }

  /**
   * Blocks (or allows again) writes to {@code index}. The add-block API waits for writes in flight to finish, so a
   * copy after it sees every document; engines before it (Elasticsearch 7.9) have the setting only.
   */
  private void block(String index, boolean on) {
    EsClient.Response r = on ? client.sendSync("PUT", "/" + index + "/_block/write", null) : null;
    if (r == null || r.status() == 404 || r.status() == 405 || r.status() == 400 && r.text().contains("no handler")) {
      r = client.sendSync("PUT", "/" + index + "/_settings", "{\"index.blocks.write\":" + on + "}");
    }
    check(r, (on ? "blocking writes to " : "allowing writes to ") + index);
  }

  private static EsClient.Response check(EsClient.Response r, String what) {
    if (r.status() >= 300) {
      throw new Refused(what + " failed: HTTP " + r.status() + ": " + head(r.text())
          + (BulkOutcomes.refusesCredentials(r.status()) ? " (the indexer's user needs the manage privilege on "
          + "the indices and aliases for a switch)" : ""));
    }
    return r;
  }

  private static JsonNode tree(EsClient.Response r) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new Refused("the search engine's answer is not JSON: " + head(r.text()));
    }
  }

  private static String head(String s) {
    return s.length() > 400 ? s.substring(0, 400) + "..." : s;
  }

  @Override
  public void close() {
    client.close();
  }
}
