package org.apache.rocketmq.shaded.org.slf4j.impl;

import ferromq.compat.grpc.ClientLog;
import org.apache.rocketmq.shaded.org.slf4j.ILoggerFactory;
import org.apache.rocketmq.shaded.org.slf4j.spi.LoggerFactoryBinder;

/**
 * The slf4j 1.7 binding of the client's relocated slf4j (org.apache.rocketmq.shaded.org.slf4j).
 *
 * <p>rocketmq-client-java 5.0.8 shades slf4j-api 1.7.30 together with logback-classic 1.3.15, which
 * only binds to slf4j 2 (ServiceLoader), not through a StaticLoggerBinder: its slf4j finds no binding
 * ("SLF4J: Failed to load class org.slf4j.impl.StaticLoggerBinder ... Defaulting to no-operation (NOP)
 * logger implementation") and the client logs nothing at all. An application supplies an slf4j 1.7
 * binding by putting this class on the class path; under the relocated name it serves the client's
 * loggers only. See {@link ClientLog}.
 */
public final class StaticLoggerBinder implements LoggerFactoryBinder {
    /** Read by slf4j's version check. */
    public static String REQUESTED_API_VERSION = "1.7.30";

    private static final StaticLoggerBinder SINGLETON = new StaticLoggerBinder();

    private StaticLoggerBinder() {}

    public static StaticLoggerBinder getSingleton() {
        return SINGLETON;
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return ClientLog.FACTORY;
    }

    @Override
    public String getLoggerFactoryClassStr() {
        return ClientLog.class.getName();
    }
}
