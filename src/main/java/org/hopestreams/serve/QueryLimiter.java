package org.hopestreams.serve;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Bounds the queries an instance computes: at most {@code concurrency} at a time, at most {@code queue}
 * waiting, each answered within {@code timeoutMs} (waiting included). Over the queue a query is refused
 * at once (429); past the time limit the caller gets 503, and a query still waiting is dropped, while one
 * already computing finishes in the background and keeps its slot until then (the model code cannot be
 * interrupted), so the bound on work in progress holds. Both refusals carry a Retry-After. The HTTP
 * threads only wait here; health and metrics, on their own server, never queue behind queries.
 */
public final class QueryLimiter implements AutoCloseable {
    private final ThreadPoolExecutor pool;
    private final long timeoutMs;
    private final AtomicInteger refused = new AtomicInteger();

    public QueryLimiter(int concurrency, int queue, long timeoutMs) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(concurrency, concurrency, 60, TimeUnit.SECONDS,
                queue == 0 ? new java.util.concurrent.SynchronousQueue<>() : new ArrayBlockingQueue<>(queue), r -> {
                    Thread t = new Thread(r, "hope-query-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        this.timeoutMs = timeoutMs;
    }

    /** Queries refused (queue full or time limit) since start. */
    public int refused() {
        return refused.get();
    }

    /** Runs the query within the bounds; throws {@link ApiError} 429 or 503 when it cannot. */
    public <T> T run(Supplier<T> query) {
        Future<T> f;
        try {
            f = pool.submit(query::get);
        } catch (RejectedExecutionException e) {
            refused.incrementAndGet();
            throw new ApiError(429, "too many queries: " + pool.getMaximumPoolSize() + " computing and "
                    + pool.getQueue().size() + " waiting on this instance (hope.http.query.concurrency, "
                    + "hope.http.query.queue); retry later").retryAfter(1);
        }
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(false);
            refused.incrementAndGet();
            throw new ApiError(503, "the query took longer than hope.http.query.timeout.ms (" + timeoutMs
                    + " ms, waiting included); retry later").retryAfter(Math.max(1, timeoutMs / 1000));
        } catch (InterruptedException e) {
            f.cancel(false);
            Thread.currentThread().interrupt();
            throw new ApiError(503, "the server is stopping").retryAfter(1);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
