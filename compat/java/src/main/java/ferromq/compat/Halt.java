package ferromq.compat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Leaves the JVM at once with an exit code (the clients' threads are not all daemons, and their
 * graceful shutdown takes seconds nobody needs to watch), first flushing the output and removing
 * the native libraries the JVM extracted into the temp directory: rocketmq 5.x loads RocksDB's
 * JNI library from a 13 MB copy it marks delete-on-exit, which a halt skips, so every run used to
 * leave one behind in /tmp.
 */
final class Halt {
    private Halt() {}

    static void now(int code) {
        System.out.flush();
        System.err.flush();
        removeExtractedLibraries();
        Runtime.getRuntime().halt(code);
    }

    private static void removeExtractedLibraries() {
        String tmp = System.getProperty("java.io.tmpdir");
        // Mapped files are listed in /proc/self/maps; unlinking a mapped file is safe on Linux.
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            maps.map(line -> line.substring(line.lastIndexOf(' ') + 1))
                    .filter(p -> p.startsWith(tmp) && p.contains("librocksdbjni"))
                    .distinct()
                    .forEach(p -> {
                        try {
                            Files.deleteIfExists(Path.of(p));
                        } catch (IOException ignored) {
                            // Best effort: the file stays, as it did before.
                        }
                    });
        } catch (IOException | RuntimeException ignored) {
            // Not Linux, or /proc unreadable: nothing to clean.
        }
    }
}
