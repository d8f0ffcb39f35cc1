#pragma once
// Known cluster transitions as users write them: "A>B,B>C", chains "A>B>C", and sets
// "Pre-endocrine>{Alpha,Beta,Delta,Epsilon}". Names may contain spaces ("Ngn3 low EP").
#include <string>
#include <utility>
#include <vector>

namespace velofield {

// Throws velofield::Error (naming `key`) on an empty name or an unbalanced brace.
std::vector<std::pair<std::string, std::string>> parse_transitions(const std::string& text, const std::string& key);

}  // namespace velofield
