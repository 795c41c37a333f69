import java.io.File;
import org.apache.avro.Schema;

/**
 * Parses each .avsc given, each with a parser of its own (so each file must be self-contained),
 * as a Java producer would; prints one line per file and exits 1 if any fails. Run with the
 * jars of `make interop-java` on the class path: java -cp '.cache/interop-java/*' AvscCheck.java f...
 */
public class AvscCheck {
  public static void main(String[] args) {
    int failed = 0;
    for (String path : args) {
      try {
        Schema schema = new Schema.Parser().parse(new File(path));
        System.out.println("ok " + path + " " + schema.getFullName() + " " + schema.getFields().size() + " fields");
      } catch (Exception e) {
        failed++;
        System.out.println("FAIL " + path + " " + e.getMessage());
      }
    }
    System.exit(failed == 0 ? 0 : 1);
  }
}
