package ferromq.compat;

/**
 * The TLS options of the Remoting drivers, set the way an application sets them.
 *
 * <p>{@code --tls}: the client's own switch ({@code ClientConfig.setUseTLS(true)}); the client then
 * trusts any server certificate (upstream's default {@code tls.test.mode.enable=true}).
 * {@code --tls-trust PEM}: verify the server against that certificate instead (upstream's
 * {@code tls.client.authServer} and {@code tls.client.trustCertPath}). Those system properties are
 * read once, when the client's TLS classes load, so this runs before any client is created.
 */
final class Tls {
    private Tls() {}

    /** Reads both options; true when the client must use TLS. */
    static boolean configure(Args a) {
        String trust = a.get("tls-trust", null);
        boolean tls = a.flag("tls") || trust != null;
        if (trust != null) {
            System.setProperty("tls.test.mode.enable", "false");
            System.setProperty("tls.client.authServer", "true");
            System.setProperty("tls.client.trustCertPath", trust);
        }
        return tls;
    }
}
