/**
 * Training and evaluating language models on DJL: the training loop ({@link
 * dev.scone.core.train.LanguageModelTrainer}) with AdamW ({@link dev.scone.core.train.AdamW}), linear
 * warm-up and cosine decay ({@link dev.scone.core.train.WarmupCosineSchedule}), clipping by global norm
 * ({@link dev.scone.core.train.GradientClipping}), exact checkpoints ({@link
 * dev.scone.core.train.Checkpoint}) and perplexity ({@link dev.scone.core.train.Evaluation}).
 *
 * <p>The trainer is generic over the model: any DJL block whose forward takes NDList(tokenIds (B, T)
 * int32, fgramIds (B, T) int32) and returns NDList(logits (B, T, V)), wrapped as a {@link
 * dev.scone.core.train.TrainableModel}. A {@link dev.scone.core.train.ModelFactory} rebuilds it from its
 * configuration text when a checkpoint is loaded.
 */
package dev.scone.core.train;
