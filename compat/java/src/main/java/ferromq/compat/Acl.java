package ferromq.compat;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.remoting.RPCHook;

/**
 * {@code --access-key AK --secret-key SK}: the client signs every request with
 * {@code AclClientRPCHook}, as an application on an ACL-enabled cluster does.
 */
final class Acl {
    private Acl() {}

    /** The hook the options ask for, or null. */
    static RPCHook hook(Args a) {
        String ak = a.get("access-key", null);
        String sk = a.get("secret-key", null);
        if (ak == null) {
            return null;
        }
        return new AclClientRPCHook(new SessionCredentials(ak, sk == null ? "" : sk));
    }
}
