package org.hopestreams.serve;

import java.util.List;

/** The HTTP API's paths: one list for the server, the deployment manifests' probes and their tests. */
public final class Routes {
    public static final String LIVE = "/health/live";
    public static final String READY = "/health/ready";
    public static final String METRICS = "/metrics";
    public static final String SCORE = "/v1/score";
    public static final String COMPLETE = "/v1/complete";
    public static final String KEY = "/v1/keys/{key}";
    public static final String MODEL = "/v1/model";
    public static final String DASHBOARD = "/";
    public static final String DASHBOARD_DATA = "/v1/dashboard";

    /** Every GET path (probes may use only these). */
    public static final List<String> GET = List.of(LIVE, READY, METRICS, KEY, MODEL, DASHBOARD, DASHBOARD_DATA);
    public static final List<String> POST = List.of(SCORE, COMPLETE);

    private Routes() {
    }
}
