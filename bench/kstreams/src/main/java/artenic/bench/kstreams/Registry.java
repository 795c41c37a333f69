package artenic.bench.kstreams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * The few calls of the Confluent-compatible registry API this peer needs (Apicurio serves it
 * under /apis/ccompat/v7): a subject's latest schema and id, and a schema by id. Schemas by id
 * are cached; a failed call is retried a few times, then fails with the URL in the message.
 */
final class Registry {
  /** A schema as registered: its global id and its parsed form. */
  record Registered(int id, Schema schema) {}

  /** The registry answered 404: the id or subject does not exist. */
  static final class NotFoundException extends IOException {
    NotFoundException(String message) {
      super(message);
    }
  }

  private static final int ATTEMPTS = 4;
  private final String baseUrl;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();

  Registry(String baseUrl) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
  }

  /** The latest version registered under a subject (`<topic>-value`). */
  Registered latest(String subject) throws IOException {
    JsonNode body = get("/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions/latest");
    int id = body.get("id").asInt();
    Schema schema = new Schema.Parser().parse(body.get("schema").asText());
    byId.putIfAbsent(id, schema);
    return new Registered(id, schema);
  }

  /** The writer schema of a record, from the id in its wire-format header. */
  Schema schema(int id) throws IOException {
    Schema cached = byId.get(id);
    if (cached != null) return cached;
    Schema schema = new Schema.Parser().parse(get("/schemas/ids/" + id).get("schema").asText());
    byId.put(id, schema);
    return schema;
  }

  private JsonNode get(String path) throws IOException {
    URI uri = URI.create(baseUrl + path);
    IOException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 404) throw new NotFoundException("registry: " + uri + " not found");
        if (response.statusCode() / 100 == 2) return json.readTree(response.body());
        last = new IOException("registry: GET " + uri + " answered " + response.statusCode() + ": " + response.body());
      } catch (NotFoundException e) {
        throw e;
      } catch (IOException e) {
        last = new IOException("registry: GET " + uri + " failed: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("registry: interrupted during GET " + uri, e);
      }
      try {
        Thread.sleep(200L << attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("registry: interrupted during GET " + uri, e);
      }
    }
    throw last;
  }
}
