package dev.scone.examples;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.progress.LoggingProgressListener;
import dev.scone.fgram.progress.ProgressBarListener;
import dev.scone.fgram.progress.ProgressListener;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options that several commands share, each declared and documented once, as picocli
 * mixins ({@code @Mixin}). A mixin whose defaults differ by command takes them in its
 * constructor; the help shows the command's own. The benchmarks use {@link DataFolder} too.
 */
public final class SharedOptions {

    private SharedOptions() {}

    /** {@code --model}: a trained model (eval, export, precompute, generate). */
    static final class TrainedModel {
        @Option(names = "--model", required = true, paramLabel = "PATH", description = "The trained model: a model"
                + " folder from 'scone train' (its final.ckpt), a checkpoint, or an inference export from 'scone export'"
                + " (or a folder holding one); the command's description says which of these it takes.")
        Path path;
    }

    /** {@code --data}: the data folder that scripts/fetch-data.sh fills (demo, experiment, benchmarks). */
    public static final class DataFolder {
        @Option(names = "--data", paramLabel = "DIR", description = "Data folder from scripts/fetch-data.sh, with sotu/"
                + " and gpt2/tokenizer.json (default: -Dscone.data.dir or ./data).")
        Path folder;

        /** @return the folder given, else the default */
        public Path resolve() {
            return folder != null ? folder : CliSupport.dataDir();
        }
    }

    /** {@code --fgrams}: an f-gram vocabulary file (train, eval). */
    static final class Fgrams {
        @Option(names = "--fgrams", paramLabel = "FILE", description = "F-gram vocabulary file from 'scone count'"
                + " (default: the model folder's fgrams.bin, when there is one). A new SCONE model needs one; with a"
                + " baseline it splits perplexity by match; not used with --store.")
        Path file;
    }

    /** {@code --token-compaction}: the compaction of the model's token ids (eval, export, precompute, generate). */
    static final class TokenCompaction {
        @Option(names = "--token-compaction", paramLabel = "FILE", description = "The token compaction file of the"
                + " model's corpus, from 'scone tokenize --compact' (default: ${DEFAULT-VALUE}; the default is ignored"
                + " when missing; an inference export carries its own, which wins).")
        Path file = Path.of("out", "tokens", "compaction.cmp");
    }

    /** {@code --store}: a SCONE model's f-gram store (eval, generate). */
    static final class Store {
        @Option(names = "--store", paramLabel = "DIR", description = "Store folder of a SCONE model from 'scone"
                + " precompute' (or a sharded store): the model is served from its inference export and this store,"
                + " the inference path.")
        Path folder;
    }

    /** {@code --seed}: the seed of everything random a command does (train, demo, generate). */
    static final class Seed {
        /** The demo's seed when none is given (the experiment's seeds are 1, 2, 3). */
        static final long DEMO = 1;
        /** Generation's sampling seed when none is given. */
        static final long GENERATE = 42;

        @Option(names = "--seed", paramLabel = "N", description = "Seed of everything random the command does"
                + " (initialization, window order, dropout, sampling). 'scone train' requires one; the default is "
                + DEMO + " for 'scone demo' (the experiment's seeds are 1, 2, 3) and " + GENERATE
                + " for 'scone generate'.")
        Long seed;

        private Seed(Long byDefault) {
            this.seed = byDefault;
        }

        /** @return the option of a command that requires a seed */
        static Seed required() {
            return new Seed(null);
        }

        /** @return the demo's option */
        static Seed forDemo() {
            return new Seed(DEMO);
        }

        /** @return generation's option */
        static Seed forGenerate() {
            return new Seed(GENERATE);
        }

        /**
         * @return the seed
         * @throws IllegalArgumentException when none was given and there is no default
         */
        long get() {
            if (seed == null) {
                throw new IllegalArgumentException("missing required option '--seed=N' (training is always seeded)");
            }
            return seed;
        }
    }

    /** {@code --device}: where a command's model runs (train, eval, precompute, generate, demo). */
    static final class DeviceOption {
        @Option(names = "--device", paramLabel = "NAME", description = "Where the model runs: cpu, gpu or gpu:N"
                + " (default: the engine's default device, a GPU when the engine has one).")
        String name;

        /**
         * @return the device asked for, or null for the engine's default
         * @throws IllegalArgumentException when the name is not a device or the engine does not have it
         */
        Device device() {
            if (name == null) {
                return null;
            }
            Device d;
            try {
                d = Device.fromName(name.trim());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--device " + name + " is not a device name (cpu, gpu or gpu:N)", e);
            }
            if (d.isGpu()) {
                int gpus = Engine.getInstance().getGpuCount();
                if (d.getDeviceId() >= gpus) {
                    throw new IllegalArgumentException("--device " + name + ": the " + Engine.getInstance().getEngineName()
                            + " engine sees " + gpus + " GPU(s) here");
                }
            } else if (!Device.Type.CPU.equals(d.getDeviceType())) {
                throw new IllegalArgumentException("--device " + name + " is not a device name (cpu, gpu or gpu:N)");
            }
            return d;
        }

        /**
         * @param device a device, or null for the engine's default
         * @return a new base manager there
         */
        static NDManager manager(Device device) {
            return device == null ? NDManager.newBaseManager() : NDManager.newBaseManager(device);
        }
    }

    /** {@code --quiet}: log lines instead of progress bars (tokenize, train, precompute, demo). */
    static final class Quiet {
        @Option(names = "--quiet", description = "Log progress lines instead of drawing progress bars.")
        boolean quiet;

        /**
         * @param quiet whether log lines are wanted instead of a bar
         * @param unit what one step is, shown beside a bar's counts
         * @param label shown before a bar instead of the task's name, or null
         * @return the progress listener for that choice
         */
        static ProgressListener progress(boolean quiet, String unit, String label) {
            return quiet ? new LoggingProgressListener() : new ProgressBarListener(unit, label);
        }
    }

    /** The learning-rate schedule and validation options of the commands that train (train, demo, experiment). */
    static final class Schedule {
        @Option(names = "--lr", paramLabel = "RATE", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
        float lr;

        @Option(names = "--warmup", paramLabel = "STEPS", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--eval-every", paramLabel = "STEPS", description = "Steps between validations during"
                + " training, 0 = never (default: ${DEFAULT-VALUE}).")
        int evalEvery;

        @Option(names = "--eval-windows", paramLabel = "N", description = "Held-out windows per validation during"
                + " training, 0 = all (default: ${DEFAULT-VALUE}).")
        long evalWindows;

        /**
         * @param lr the default peak learning rate
         * @param warmup the default warm-up steps
         * @param evalEvery the default steps between validations
         * @param evalWindows the default windows per validation
         */
        Schedule(float lr, int warmup, int evalEvery, long evalWindows) {
            this.lr = lr;
            this.warmup = warmup;
            this.evalEvery = evalEvery;
            this.evalWindows = evalWindows;
        }
    }

    /** Algorithm 3's settings (count, demo, experiment). */
    static final class Counting {
        @Option(names = "--max-n", paramLabel = "K", description = "K, the longest f-gram (default: ${DEFAULT-VALUE}).")
        int maxN = CountingConfig.DEFAULT_MAX_N;

        @Option(names = "--min-count", paramLabel = "N", description = "The count an n-gram needs from the second"
                + " scan on (default: ${DEFAULT-VALUE}).")
        int minCount = CountingConfig.DEFAULT_MIN_COUNT;

        @Option(names = "--top-s", paramLabel = "S", description = "S, how many f-grams to keep (default: ${DEFAULT-VALUE}).")
        int topS = 50_000;

        /** @throws IllegalArgumentException naming the first option out of its range */
        void check() {
            CliSupport.requireAtLeast(maxN, 2, "--max-n");
            CliSupport.requireAtLeast(minCount, 1, "--min-count");
            CliSupport.requireAtLeast(topS, 1, "--top-s");
        }
    }

    /** Which documents of a corpus folder are used and how its token ids are compacted (tokenize, demo, experiment). */
    static final class CorpusSelection {
        @Option(names = "--max-documents", paramLabel = "N", description = "Use only the last N documents of the corpus"
                + " (by file name; default: all).")
        int maxDocuments = Integer.MAX_VALUE;

        @Option(names = "--compact", paramLabel = "N", description = "Keep the N most frequent training token ids and"
                + " map the rest to one unknown id, 0 = no compaction (default: ${DEFAULT-VALUE}).")
        int compact;

        /** @param compact the default number of token ids kept */
        CorpusSelection(int compact) {
            this.compact = compact;
        }
    }
}
