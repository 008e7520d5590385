// Package latency holds the windowed latency histograms behind spans.Monitor's page: log-linear
// buckets (32 per power of two, so a percentile read from them is within 1/64 of the exact one)
// kept as a ring of per-interval slots, recorded with atomic adds and no allocation.
//
// # Accuracy
//
// Durations under 32ns are counted exactly. Above, a bucket spans [lo, lo·(1+1/(32+m))) for its
// sub-bucket m, and a percentile reports the bucket's midpoint, so its relative error against
// the exact nearest-rank percentile of the same data is at most 1/64 (1.6 %). Durations of
// 2^37 ns (about 137 s) and more all count in the last bucket, whose percentile reads as its
// lower edge.
//
// # Windows
//
// A Ring of n slots of one interval each covers the last n-1 whole intervals and the current
// one: a 6 x 10 s ring answers for "the last minute" with between 50 and 60 seconds of data.
// A slot is cleared when the first duration of a new interval lands in it; a duration that ends
// more than a ring's length before the newest is not counted (Record reports it).
//
// Requests recorded while a slot rotates may land in the neighbouring interval: the counts are
// exact, their split between two adjacent intervals near a boundary is not.
package latency
