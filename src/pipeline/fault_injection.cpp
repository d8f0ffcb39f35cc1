#include "pipeline/fault_injection.hpp"

#include <cstdlib>
#include <sstream>

#include "core/error.hpp"

namespace velofield {

namespace {
struct Fault {
  std::string stage;
  int rank = -1;
  FaultPoint point = FaultPoint::before;
};

Fault parse_fault(const std::string& text) {
  const auto malformed = [&](const std::string& why) {
    return Error("VELOFIELD_FAULT=" + text + ": " + why + " (expected stage=NAME,rank=R[,when=before|after])");
  };
  Fault f;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw malformed("'" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "stage") {
      f.stage = value;
    } else if (key == "rank") {
      char* end = nullptr;
      const long r = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || r < 0) throw malformed("rank '" + value + "' is not a rank number");
      f.rank = static_cast<int>(r);
    } else if (key == "when") {
      if (value == "before") f.point = FaultPoint::before;
      else if (value == "after") f.point = FaultPoint::after;
      else throw malformed("when '" + value + "' is neither before nor after");
    } else {
      throw malformed("unknown key '" + key + "'");
    }
  }
  if (f.stage.empty() || f.rank < 0) throw malformed("stage and rank are required");
  return f;
}
}  // namespace

void inject_fault(MPI_Comm comm, const std::string& stage_entry, FaultPoint point) {
  const char* text = std::getenv("VELOFIELD_FAULT");
  if (!text || !*text) return;
  const Fault fault = parse_fault(text);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (fault.stage == stage_entry && fault.point == point && fault.rank == rank)
    throw Error("VELOFIELD_FAULT: injected fault " + std::string(point == FaultPoint::before ? "before" : "after") + " stage '" +
                stage_entry + "' on rank " + std::to_string(rank) + " (testing hook)");
}

}  // namespace velofield
