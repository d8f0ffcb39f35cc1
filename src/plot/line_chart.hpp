#pragma once
// Lines with markers on linear axes, a legend beside the plot: scaling and sweep reports.
#include <optional>
#include <string>
#include <vector>

namespace velofield::plot {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LineChartOptions {
  std::string title, x_label, y_label;
  double width_pt = 520, height_pt = 320, dpi = 150;
  std::optional<double> y_min, y_max;
  std::optional<double> reference_y;            // dashed horizontal line (ideal efficiency 1.0)
  std::string reference_label;
};

// Writes `path` (.png/.svg/.pdf). Throws velofield::Error on an empty chart or a bad path.
void draw_line_chart(const std::string& path, const std::vector<Series>& series, const LineChartOptions& options);

}  // namespace velofield::plot
