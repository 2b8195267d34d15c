package dev.scone.core.train;

/**
 * What one training step did.
 *
 * @param step the number of updates taken so far (this step included)
 * @param totalSteps the configured number of steps
 * @param tokensSeen training tokens consumed so far
 * @param loss this step's mean cross-entropy (nats per token)
 * @param learningRate the learning rate this step used
 * @param gradientNorm the global gradient norm before clipping
 * @param tokensPerSecond training throughput since the current {@code train} call began
 */
public record StepReport(long step, int totalSteps, long tokensSeen, float loss, float learningRate,
        float gradientNorm, double tokensPerSecond) {}
