package artenic.bench.kstreams;

/** A record at fault, with the code the project's DLQ uses for it (topology/errors.ts). */
final class DeadLetterException extends Exception {
  final String code;

  DeadLetterException(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  DeadLetterException(String code, String message, Throwable cause) {
    super(message, cause, false, false);
    this.code = code;
  }
}
