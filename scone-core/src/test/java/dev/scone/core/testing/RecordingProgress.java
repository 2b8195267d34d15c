package dev.scone.core.testing;

import dev.scone.fgram.progress.ProgressListener;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@link ProgressListener} that keeps what it hears, for tests of what a task reports. */
public final class RecordingProgress implements ProgressListener {

    private static final Pattern LOSS = Pattern.compile("^loss (\\S+) ");

    /** The tasks started, as "task total done". */
    public final List<String> starts = new ArrayList<>();
    /** The steps reached, in order. */
    public final List<Long> steps = new ArrayList<>();
    /** The statuses given, in order. */
    public final List<String> statuses = new ArrayList<>();
    /** How many times a task finished. */
    public int finishes;

    @Override
    public void start(String task, long total, long done) {
        starts.add(task + " " + total + " " + done);
    }

    @Override
    public void advance(long steps) {
        throw new AssertionError("a trainer reports absolute steps");
    }

    @Override
    public void stepTo(long done, String status) {
        steps.add(done);
        statuses.add(status);
    }

    @Override
    public void finish() {
        finishes++;
    }

    /**
     * @return the training loss of each step reached, in order, from its statuses ("loss 3.214 |
     *     ..."); a step reported twice (again after a validation) counts once
     */
    public List<Float> losses() {
        java.util.Map<Long, Float> byStep = new java.util.LinkedHashMap<>();
        for (int i = 0; i < statuses.size(); i++) {
            Matcher m = LOSS.matcher(statuses.get(i));
            if (!m.find()) {
                throw new AssertionError("no loss in status: " + statuses.get(i));
            }
            byStep.put(steps.get(i), Float.parseFloat(m.group(1)));
        }
        return new ArrayList<>(byStep.values());
    }
}
