#include "pipeline/stage.hpp"

namespace velofield {

// The stages velofield knows, in pipeline order. Each line comes with the stage's own file.
void register_builtin_stages() {
}

}  // namespace velofield
