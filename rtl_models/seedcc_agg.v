// AGG: sparse graph aggregation of one chunk of adjacency rows (docs/isa.md "AGG").
//
// The chunk sits in the mask SRAM at csr_addr: row_count degrees (CSR_DEGREE_BYTES each),
// then, from the degree bytes rounded up to CSR_ALIGN, nnz entries of CSR_ENTRY_BYTES
// (CSR_INDEX_BITS column, CSR_VALUE_BITS signed value). The input x is feature-major:
// byte (f, n) at in_addr + f*in_nodes + n. PIXELS lanes each own one feature of the
// current group of PIXELS features; per group the unit streams the chunk front to back:
//   HDR  1 cycle a row   read the row's degree; a row without neighbours writes 0
//   ENT  1 cycle an entry  read (col, val); every lane gathers x[f][col] and adds
//                        val * x (int8 x int16 into a wrapping int32); the row's last
//                        entry writes the PIXELS sums, accumulators (f, r) in the acc
//                        layout with rep_log2 0 (docs/isa.md "Accumulator layout"): word
//                        (f mod NCH)*PIXELS + r mod PIXELS of row acc_row + blk*T + r div
//                        PIXELS, blk = f div NCH, T = ceil(row_count / PIXELS). A group of
//                        PIXELS features (PIXELS divides NCH) is PIXELS banks of one row.
// so a chunk takes ceil(features / PIXELS) * (row_count + nnz) execute cycles, the ISA
// table's rule. A column >= in_nodes, degrees that do not sum to nnz, or row_count 0 with
// entries raise `err` (the top level stops); the reference model rejects the same chunks.
// Reads are combinational (behavioural SRAMs in seedcc_accel), writes at the clock edge.
// Non-ANSI ports so that the widths can use isa.vh and hwfacts.vh.
module seedcc_agg #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_in_addr,
  f_in_nodes,
  f_acc_row,
  f_features,
  f_row_count,
  f_nnz,
  f_csr_addr,
  f_in_unsigned,
  last,
  err,
  mask_rd_addr,
  mask_rd_data,
  act_rd_addr,
  act_rd_data,
  acc_wr_en,
  acc_wr_row,
  acc_wr_lane,
  acc_wr_col0,
  acc_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  localparam integer XW = 32;  // address arithmetic (the top level wraps at each SRAM's size)
  localparam integer NCH = GROUP * LANES;  // columns (banks) of the acc SRAM
  localparam integer COL_W = (NCH > 1) ? $clog2(NCH) : 1;
  localparam integer LANE_W = (PIXELS > 1) ? $clog2(PIXELS) : 1;
  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start;
  input  wire [F_IN_ADDR_W-1:0]        f_in_addr;
  input  wire [F_IN_NODES_W-1:0]       f_in_nodes;
  input  wire [F_ACC_ROW_W-1:0]        f_acc_row;
  input  wire [F_FEATURES_W-1:0]       f_features;
  input  wire [F_ROW_COUNT_W-1:0]      f_row_count;
  input  wire [F_NNZ_W-1:0]            f_nnz;
  input  wire [F_CSR_ADDR_W-1:0]       f_csr_addr;
  input  wire                          f_in_unsigned;  // 1: input bytes are uint8
  output wire                          last;
  output wire                          err;
  output wire [XW-1:0]                 mask_rd_addr;    // CSR_ENTRY_BYTES consecutive bytes
  input  wire [CSR_ENTRY_BYTES*8-1:0]  mask_rd_data;
  output wire [PIXELS*XW-1:0]          act_rd_addr;     // one gathered byte a lane
  input  wire [PIXELS*ACT_BITS-1:0]    act_rd_data;
  output reg  [PIXELS-1:0]             acc_wr_en;
  output wire [F_ACC_ROW_W-1:0]        acc_wr_row;      // lane g's word: in this row,
  output wire [LANE_W-1:0]             acc_wr_lane;     //   this word of the bank,
  output wire [COL_W-1:0]              acc_wr_col0;     //   bank acc_wr_col0 + g
  output wire [PIXELS*ACC_BITS-1:0]    acc_wr_data;

  reg                       busy;
  reg                       ent;        // 0: HDR cycle of row r, 1: ENT cycle of entry e
  reg [F_IN_ADDR_W-1:0]     r_in_addr;
  reg [F_IN_NODES_W-1:0]    r_in_nodes;
  reg [F_ACC_ROW_W-1:0]     r_acc_row;
  reg [F_ACC_ROW_W-1:0]     blk_row;    // first row of the group's block of NCH features
  reg [F_ACC_ROW_W-1:0]     tr;         // r div PIXELS
  reg [LANE_W-1:0]          tq;         // r mod PIXELS
  reg [COL_W-1:0]           col0;       // f0 mod NCH
  reg [F_FEATURES_W-1:0]    r_features;
  reg [F_ROW_COUNT_W-1:0]   r_rows;
  reg [F_NNZ_W-1:0]         r_nnz;
  reg [F_CSR_ADDR_W-1:0]    r_csr;
  reg                       r_xu;       // input bytes are uint8
  reg [XW-1:0]              f0;         // first feature of the group
  reg [F_ROW_COUNT_W-1:0]   r;          // row
  reg [F_NNZ_W-1:0]         e;          // entry of the chunk
  reg [CSR_DEGREE_BYTES*8-1:0] rem;     // entries of row r still to come

  wire [XW-1:0] rows_x = {{(XW-F_ROW_COUNT_W){1'b0}}, r_rows};
  wire [XW-1:0] ent_base = {{(XW-F_CSR_ADDR_W){1'b0}}, r_csr}
      + (((rows_x * CSR_DEGREE_BYTES) + CSR_ALIGN - 1) / CSR_ALIGN) * CSR_ALIGN;
  wire [CSR_DEGREE_BYTES*8-1:0] degree = mask_rd_data[0 +: CSR_DEGREE_BYTES*8];
  wire [CSR_INDEX_BITS-1:0] col = mask_rd_data[0 +: CSR_INDEX_BITS];
  wire signed [CSR_VALUE_BITS-1:0] val = mask_rd_data[CSR_INDEX_BITS +: CSR_VALUE_BITS];

  wire row_done = ent ? (rem == 1) : (degree == 0);  // this cycle finishes row r
  wire group_done = row_done && ({{(XW-F_ROW_COUNT_W){1'b0}}, r} + 1 == rows_x);
  wire [F_NNZ_W-1:0] e_next = e + {{(F_NNZ_W-1){1'b0}}, ent};
  wire all_done = group_done && (f0 + PIXELS >= {{(XW-F_FEATURES_W){1'b0}}, r_features});
  assign err = busy && ((r_rows == 0) || (ent && col >= r_in_nodes) || (group_done && e_next != r_nnz));
  assign last = busy && all_done && !err;
  assign mask_rd_addr = ent ? ent_base + {{(XW-F_NNZ_W){1'b0}}, e} * CSR_ENTRY_BYTES
                            : {{(XW-F_CSR_ADDR_W){1'b0}}, r_csr}
                              + {{(XW-F_ROW_COUNT_W){1'b0}}, r} * CSR_DEGREE_BYTES;

  assign acc_wr_row = r_acc_row + blk_row + tr;
  assign acc_wr_lane = tq;
  assign acc_wr_col0 = col0;
  localparam integer LANE_LAST_I = PIXELS - 1;
  localparam integer COL_LAST_I = NCH - PIXELS;
  localparam [LANE_W-1:0] LANE_LAST = LANE_LAST_I[LANE_W-1:0];
  localparam [COL_W-1:0] COL_LAST_GROUP = COL_LAST_I[COL_W-1:0];
  localparam [COL_W-1:0] COL_STEP = PIXELS[COL_W-1:0];

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire [XW-1:0] feat = f0 + g;
      reg  signed [ACC_BITS-1:0] sum;  // this lane's feature of row r so far
      // the byte extended to 9 bits: its top bit is the sign of an int8, 0 for a uint8
      wire signed [ACT_BITS:0]   x = {act_rd_data[g*ACT_BITS + ACT_BITS-1] & ~r_xu,
                                      act_rd_data[g*ACT_BITS +: ACT_BITS]};
      wire signed [ACC_BITS-1:0] prod = x * val;  // operands sign-extended to ACC_BITS
      wire signed [ACC_BITS-1:0] next = sum + prod;
      assign act_rd_addr[g*XW +: XW] = {{(XW-F_IN_ADDR_W){1'b0}}, r_in_addr}
          + feat * {{(XW-F_IN_NODES_W){1'b0}}, r_in_nodes} + {{(XW-CSR_INDEX_BITS){1'b0}}, col};
      assign acc_wr_data[g*ACC_BITS +: ACC_BITS] = ent ? next : {ACC_BITS{1'b0}};
      always @* acc_wr_en[g] = busy && !err && row_done
                               && (feat < {{(XW-F_FEATURES_W){1'b0}}, r_features});
      always @(posedge clk)
        if (busy) sum <= ent ? next : {ACC_BITS{1'b0}};  // a HDR cycle starts the row at 0
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      ent <= 1'b0;
      r_in_addr <= f_in_addr;
      r_in_nodes <= f_in_nodes;
      r_acc_row <= f_acc_row;
      blk_row <= {F_ACC_ROW_W{1'b0}};
      tr <= {F_ACC_ROW_W{1'b0}};
      tq <= {LANE_W{1'b0}};
      col0 <= {COL_W{1'b0}};
      r_features <= f_features;
      r_rows <= f_row_count;
      r_nnz <= f_nnz;
      r_csr <= f_csr_addr;
      r_xu <= f_in_unsigned;
      f0 <= {XW{1'b0}};
      r <= {F_ROW_COUNT_W{1'b0}};
      e <= {F_NNZ_W{1'b0}};
    end else if (busy) begin
      if (last || err) busy <= 1'b0;
      e <= e_next;
      if (!ent) begin
        rem <= degree;
        if (degree != 0) ent <= 1'b1;
      end else begin
        rem <= rem - 1'b1;
        if (rem == 1) ent <= 1'b0;
      end
      if (row_done) begin
        if (group_done) begin
          r <= {F_ROW_COUNT_W{1'b0}};
          e <= {F_NNZ_W{1'b0}};
          f0 <= f0 + PIXELS;
          tr <= {F_ACC_ROW_W{1'b0}};
          tq <= {LANE_W{1'b0}};
          if (col0 == COL_LAST_GROUP) begin  // the next block: T = tr + 1 rows on
            col0 <= {COL_W{1'b0}};
            blk_row <= blk_row + tr + 1'b1;
          end else begin
            col0 <= col0 + COL_STEP;
          end
        end else begin
          r <= r + 1'b1;
          if (tq == LANE_LAST) begin
            tq <= {LANE_W{1'b0}};
            tr <= tr + 1'b1;
          end else begin
            tq <= tq + 1'b1;
          end
        end
      end
    end
  end
endmodule
