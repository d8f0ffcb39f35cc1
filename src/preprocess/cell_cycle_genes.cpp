#include "preprocess/cell_cycle.hpp"

namespace velofield::preprocess {

// dynamo's marker lists (human symbols; adapted to the data's case by the caller), after
// Whitfield et al. 2002 as curated in the perturbseq cell-cycle module dynamo uses.
const std::vector<CellCyclePhase>& cell_cycle_phases() {
  static const std::vector<CellCyclePhase> phases{
      {"G1-S", {"ARGLU1", "BRD7", "CDC6", "CLSPN", "ESD", "GINS2", "GMNN", "LUC7L3", "MCM5", "MCM6", "NASP", "PCNA",
                "PNN", "SLBP", "SRSF7", "SSR3", "ZRANB2"}},
      {"S", {"ASF1B", "CALM2", "CDC45", "CDCA5", "CENPM", "DHFR", "EZH2", "FEN1", "HIST1H2AC", "HIST1H4C", "NEAT1",
             "PKMYT1", "PRIM1", "RFC2", "RPA2", "RRM2", "RSRC2", "SRSF5", "SVIP", "TOP2A", "TYMS", "UBE2T", "ZWINT"}},
      {"G2-M", {"AURKB", "BUB3", "CCNA2", "CCNF", "CDCA2", "CDCA3", "CDCA8", "CDK1", "CKAP2", "DCAF7", "HMGB2", "HN1",
                "KIF5B", "KIF20B", "KIF22", "KIF23", "KIFC1", "KPNA2", "LBR", "MAD2L1", "MALAT1", "MND1", "NDC80",
                "NUCKS1", "NUSAP1", "PIF1", "PSMD11", "PSRC1", "SMC4", "TIMP1", "TMEM99", "TOP2A", "TUBB", "TUBB4B",
                "VPS25"}},
      {"M", {"ANP32B", "ANP32E", "ARL6IP1", "AURKA", "BIRC5", "BUB1", "CCNA2", "CCNB2", "CDC20", "CDC27", "CDC42EP1",
             "CDCA3", "CENPA", "CENPE", "CENPF", "CKAP2", "CKAP5", "CKS1B", "CKS2", "DEPDC1", "DLGAP5", "DNAJA1",
             "DNAJB1", "GRK6", "GTSE1", "HMG20B", "HMGB3", "HMMR", "HN1", "HSPA8", "KIF2C", "KIF5B", "KIF20B", "LBR",
             "MKI67", "MZT1", "NUF2", "NUSAP1", "PBK", "PLK1", "PRR11", "PSMG3", "PWP1", "RAD51C", "RBM8A", "RNF126",
             "RNPS1", "RRP1", "SFPQ", "SGOL2", "SMARCB1", "SRSF3", "TACC3", "THRAP3", "TPX2", "TUBB4B", "UBE2D3",
             "USP16", "WIBG", "YWHAH", "ZNF207"}},
      {"M-G1", {"AMD1", "ANP32E", "CBX3", "CDC42", "CNIH4", "CWC15", "DKC1", "DNAJB6", "DYNLL1", "EIF4E", "FXR1",
                "GRPEL1", "GSPT1", "HMG20B", "HSPA8", "ILF2", "KIF5B", "KPNB1", "LARP1", "LYAR", "MORF4L2", "MRPL19",
                "MRPS2", "MRPS18B", "NUCKS1", "PRC1", "PTMS", "PTTG1", "RAN", "RHEB", "RPL13A", "SRSF3", "SYNCRIP",
                "TAF9", "TMEM138", "TOP1", "TROAP", "UBE2D3", "ZNF593"}},
  };
  return phases;
}

}  // namespace velofield::preprocess
