#include "velocity/models/trainer.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/interrupt.hpp"
#include "core/log.hpp"
#include "velocity/models/global_batches.hpp"
#include "velocity/models/weight_checkpoint.hpp"

namespace velofield::models {

namespace {

struct Progress {
  int64_t next_epoch = 0;
  int64_t steps = 0;
  double best = std::numeric_limits<double>::infinity();
  int64_t wait = 0;
  bool early_stopped = false;
  std::vector<EpochRecord> history;
};

NamedTensors everything(TrainableModel& model, Adam& adam) {
  NamedTensors all;
  for (auto& [name, t] : model.state()) all.emplace_back("state/" + name, t);
  for (auto& nt : adam.state()) all.push_back(nt);
  return all;
}

void save(const std::string& path, TrainableModel& model, Adam& adam, const Progress& p, const TrainerOptions& o,
          MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  agree_on(comm, [&] {
    if (rank != 0) return;
    Checkpoint c;
    for (auto& [name, t] : everything(model, adam)) {
      const torch::Tensor h = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
      c.arrays[name] = {std::vector<int64_t>(h.sizes().begin(), h.sizes().end()),
                        std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + h.numel())};
    }
    for (const char* series : {"loss", "validation", "seconds"}) {
      CheckpointArray a{{static_cast<int64_t>(p.history.size())}, {}};
      for (const auto& e : p.history)
        a.values.push_back(series[0] == 'l' ? e.loss : series[0] == 'v' ? e.validation : e.seconds);
      c.arrays[std::string("history/") + series] = std::move(a);
    }
    c.scalars = {{"next_epoch", static_cast<double>(p.next_epoch)}, {"steps", static_cast<double>(p.steps)},
                 {"best", p.best}, {"wait", static_cast<double>(p.wait)}, {"early_stopped", p.early_stopped ? 1.0 : 0.0},
                 {"seed", static_cast<double>(o.seed)}, {"batch_size", static_cast<double>(o.batch_size)}};
    write_checkpoint(path, c);
  });
}

// Every rank reads the file (small: the weights); mismatches are errors naming the key.
Progress load(const std::string& path, TrainableModel& model, Adam& adam, const TrainerOptions& o, MPI_Comm comm) {
  Progress p;
  agree_on(comm, [&] {
    const Checkpoint c = read_checkpoint(path);
    for (const char* key : {"next_epoch", "steps", "best", "wait", "early_stopped", "seed", "batch_size"})
      if (!c.scalars.count(key)) fail(path, key, "missing: not a velofield training checkpoint");
    if (c.scalars.at("seed") != static_cast<double>(o.seed) || c.scalars.at("batch_size") != static_cast<double>(o.batch_size))
      fail(path, "seed", "the checkpoint was written with another seed or batch_size; remove it to start afresh");
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : everything(model, adam)) {
      const auto it = c.arrays.find(name);
      if (it == c.arrays.end()) fail(path, name, "missing: the checkpoint belongs to another model or gene set");
      if (std::vector<int64_t>(t.sizes().begin(), t.sizes().end()) != it->second.shape)
        fail(path, name, "shape differs from the model's: the checkpoint belongs to another model or gene set");
      t.copy_(torch::from_blob(const_cast<double*>(it->second.values.data()), t.sizes(), torch::kDouble).to(t.dtype()));
    }
    p.next_epoch = static_cast<int64_t>(c.scalars.at("next_epoch"));
    p.steps = static_cast<int64_t>(c.scalars.at("steps"));
    p.best = c.scalars.at("best");
    p.wait = static_cast<int64_t>(c.scalars.at("wait"));
    p.early_stopped = c.scalars.at("early_stopped") != 0;
    const auto& l = c.arrays.at("history/loss").values;
    const auto& v = c.arrays.at("history/validation").values;
    const auto& s = c.arrays.at("history/seconds").values;
    for (size_t i = 0; i < l.size(); ++i) p.history.push_back({l[i], v[i], s[i]});
  });
  adam.set_steps(p.steps);
  return p;
}

}  // namespace

TrainResult train_data_parallel(TrainableModel& model, MPI_Comm comm, int64_t n_cells, int64_t begin, int64_t end,
                                const TrainerOptions& o) {
  const CellSplit split = split_cells(n_cells, o.train_fraction, o.seed);
  // Batch statistics need two cells; a smaller set cannot be trained on at all.
  if (split.train.size() < 2)
    fail(o.source, "obs", cat(o.name, ": ", split.train.size(), " training cells (of ", n_cells,
                              "): too few cells for a batch (need at least 2)"));
  const std::vector<int64_t> my_validation = owned_cells(split.validation, begin, end);
  const double n_val = static_cast<double>(split.validation.size());

  Adam adam(model.trainable(), o.adam);
  Progress p;
  if (checkpoint_exists(o.checkpoint)) {
    p = load(o.checkpoint, model, adam, o, comm);
    log().info(cat(o.name, ": resuming from ", o.checkpoint, " at epoch ", p.next_epoch, " (step ", p.steps, ")"));
  } else {
    broadcast_tensors(model.state(), comm);
  }
  TrainResult result;
  result.resumed_at_epoch = p.next_epoch > 0 ? p.next_epoch : -1;

  int64_t epochs_this_run = 0;
  bool step_limit = false;
  while (p.next_epoch < o.max_epochs && !p.early_stopped && !step_limit) {
    if (o.stop_after_epochs >= 0 && epochs_this_run >= o.stop_after_epochs) {
      result.finished = false;
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t epoch = p.next_epoch;
    model.set_training(true);
    double loss_sum = 0;
    int64_t batches_done = 0;
    for (const auto& batch : epoch_batches(split.train, o.batch_size, o.seed, epoch)) {
      if (o.max_steps >= 0 && p.steps >= o.max_steps) {
        step_limit = true;
        break;
      }
      const StepContext ctx{epoch, p.steps, true};
      adam.zero_grad();
      // Σ of the owned cells' losses over the global batch size: summed over ranks, the gradient
      // is the batch mean. The parameter-only term is added once, on rank 0.
      torch::Tensor loss = model.cells_loss(owned_cells(batch, begin, end), ctx) / static_cast<double>(batch.size());
      int rank = 0;
      MPI_Comm_rank(comm, &rank);
      if (rank == 0) {
        const torch::Tensor g = model.global_loss(ctx);
        if (g.defined()) loss = loss + g;
      }
      loss.backward();
      allreduce_gradients(model.trainable(), comm);
      if (o.grad_clip > 0) clip_gradient_norm(model.trainable(), o.grad_clip);
      adam.step();
      loss_sum += loss.item<double>();
      ++p.steps;
      ++batches_done;
    }
    // Validation: the metric summed over every rank's validation cells, per validation cell.
    double val = std::nan("");
    if (n_val > 0) {
      model.set_training(false);
      torch::NoGradGuard no_grad;
      const double local = model.validation_loss(my_validation, {epoch, p.steps, false}).item<double>();
      val = global_sum(local, comm) / n_val;
    }
    const double loss_mean = global_sum(loss_sum, comm) / static_cast<double>(std::max<int64_t>(batches_done, 1));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    p.history.push_back({loss_mean, val, seconds});
    if (n_val > 0) {
      if (val < p.best) {
        p.best = val;
        p.wait = 0;
      } else if (++p.wait >= o.patience) {
        p.early_stopped = true;
      }
    }
    log().info(cat(o.name, ": epoch ", epoch + 1, "/", o.max_epochs, " loss ", loss_mean, " validation ", val, " (",
                   seconds, " s)", p.early_stopped ? ": no improvement for " + std::to_string(o.patience) + " epochs, stopping" : ""));
    p.next_epoch = epoch + 1;
    ++epochs_this_run;
    if (!o.checkpoint.empty()) save(o.checkpoint, model, adam, p, o, comm);
    if (const int sig = interrupt_requested(comm))
      throw Error(cat(o.source, ": ", o.name, ": stopped by signal ", sig, " after epoch ", epoch + 1,
                      o.checkpoint.empty() ? std::string("; no checkpoint was set") : "; rerun to resume from " + o.checkpoint));
  }
  model.set_training(false);
  result.history = p.history;
  result.steps = p.steps;
  result.early_stopped = p.early_stopped;
  return result;
}

}  // namespace velofield::models
