// CuratorDriver lets a Go test drive Apache Curator's lock recipes, so that
// zkit's locks are checked against the real thing on a real server.
//
// Usage: java -cp <curator jars>:<dir> CuratorDriver <connect string>
//
// It reads one command per line on stdin and writes one event per line on
// stdout (see interop_test.go for the protocol). Every participant has its
// own Curator client, so its own session, and its own thread: Curator's
// mutex must be released by the thread that took it.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorDriver {
    static final class Participant {
        final String id;
        final CuratorFramework client;
        final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "participant");
            t.setDaemon(true); // stdin's end ends the driver
            return t;
        });
        InterProcessLock lock;          // mutex, read or write
        InterProcessSemaphoreV2 semaphore;
        Lease lease;

        Participant(String id, CuratorFramework client) {
            this.id = id;
            this.client = client;
        }

        void acquire() throws Exception {
            if (semaphore != null) {
                lease = semaphore.acquire();
            } else {
                lock.acquire();
            }
        }

        void release() throws Exception {
            if (semaphore != null) {
                Lease l = lease;
                lease = null;
                semaphore.returnLease(l);
            } else {
                lock.release();
            }
        }
    }

    static final Map<String, Participant> participants = new ConcurrentHashMap<>();
    static String connect;

    static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) {
        connect = args[0];
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 0 || f[0].isEmpty()) {
                    continue;
                }
                if (f[0].equals("quit")) {
                    break;
                }
                try {
                    command(f);
                } catch (Throwable e) {
                    emit((f.length > 1 ? f[1] : "-") + " error " + e);
                }
            }
        } catch (Throwable e) {
            emit("- error " + e);
        } finally {
            for (Participant p : participants.values()) {
                p.client.close();
            }
            System.exit(0);
        }
    }

    static void command(String[] f) throws Exception {
        String id = f[1];
        switch (f[0]) {
            case "new": {
                CuratorFramework client = CuratorFrameworkFactory.newClient(connect, 10000, 10000, new RetryNTimes(3, 100));
                client.start();
                if (!client.blockUntilConnected(20, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("no connection");
                }
                Participant p = new Participant(id, client);
                String kind = f[2], path = f[3];
                switch (kind) {
                    case "mutex": p.lock = new InterProcessMutex(client, path); break;
                    case "read": p.lock = new InterProcessReadWriteLock(client, path).readLock(); break;
                    case "write": p.lock = new InterProcessReadWriteLock(client, path).writeLock(); break;
                    case "semaphore": p.semaphore = new InterProcessSemaphoreV2(client, path, Integer.parseInt(f[4])); break;
                    default: throw new IllegalArgumentException("kind " + kind);
                }
                participants.put(id, p);
                long session = client.getZookeeperClient().getZooKeeper().getSessionId();
                emit(id + " ready " + Long.toHexString(session));
                return;
            }
            case "acquire": {
                Participant p = participant(id);
                p.thread.submit(() -> run(p, () -> { p.acquire(); emit(id + " acquired"); }));
                return;
            }
            case "release": {
                Participant p = participant(id);
                p.thread.submit(() -> run(p, () -> { p.release(); emit(id + " released"); }));
                return;
            }
            case "loop": {
                Participant p = participant(id);
                int rounds = Integer.parseInt(f[2]);
                String guard = f[3];
                p.thread.submit(() -> run(p, () -> {
                    int violations = 0;
                    for (int i = 0; i < rounds; i++) {
                        p.acquire();
                        try {
                            try {
                                p.client.create().withMode(CreateMode.EPHEMERAL).forPath(guard);
                            } catch (KeeperException.NodeExistsException e) {
                                violations++;
                            }
                            p.client.setData().forPath(guard + "-last", "curator".getBytes());
                            Thread.sleep(1);
                            try {
                                p.client.delete().forPath(guard);
                            } catch (KeeperException.NoNodeException e) {
                                violations++;
                            }
                        } finally {
                            p.release();
                        }
                    }
                    emit(id + " looped " + rounds + " " + violations);
                }));
                return;
            }
            default:
                throw new IllegalArgumentException("command " + f[0]);
        }
    }

    interface Step {
        void run() throws Exception;
    }

    static void run(Participant p, Step s) {
        try {
            s.run();
        } catch (Throwable e) {
            emit(p.id + " error " + e);
        }
    }

    static Participant participant(String id) {
        Participant p = participants.get(id);
        if (p == null) {
            throw new IllegalArgumentException("no participant " + id);
        }
        return p;
    }
}
