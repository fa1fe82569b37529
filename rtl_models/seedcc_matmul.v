// MATMUL: the activation-by-activation matrix unit (Q.K^T and attention.V; docs/isa.md).
//
// out[m][n] = sat8(round_shift(wrap32(sum_k X[m][k] * Y[k][n]) * mult, shift)) with
// X[m][k] at x_addr + m*x_row + k*x_step (any orientation: K^T is read without a copy),
// Y[k][n] at y_addr + k*y_step + n (tokens consecutive) and out[m][n] at
// out_addr + m*out_plane + n; each operand byte is int8, or uint8 when its flag is set.
// Output-stationary tile of MM_ROWS rows x PIXELS tokens: MM_ROWS*PIXELS 9-bit signed
// multipliers (int8 or uint8 operands), each with an int32 accumulator. Token tiles outer,
// row tiles inner; per tile `depth` MAC cycles (cycle k reads one X column of MM_ROWS
// bytes and PIXELS consecutive Y bytes; the first overwrites the accumulators), then one
// write cycle per row of the tile (PIXELS requantisers, PIXELS bytes written). Execute
// cycles = ceil(cols / PIXELS) * (ceil(rows / MM_ROWS) * depth + rows), the ISA table's rule.
// Non-ANSI ports so that the widths can use isa.vh and hwfacts.vh.
module seedcc_matmul #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start,
  f_x_addr,
  f_x_row,
  f_x_step,
  f_y_addr,
  f_y_step,
  f_out_addr,
  f_out_plane,
  f_rows,
  f_cols,
  f_depth,
  f_mult,
  f_shift,
  f_x_unsigned,
  f_y_unsigned,
  last,
  x_rd_addr,
  x_rd_data,
  y_rd_addr,
  y_rd_data,
  act_wr,
  act_wr_addr,
  act_wr_be,
  act_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire                              clk;
  input  wire                              rst_n;
  input  wire                              start;
  input  wire [F_X_ADDR_W-1:0]             f_x_addr;
  input  wire [F_X_ROW_W-1:0]              f_x_row;
  input  wire [F_X_STEP_W-1:0]             f_x_step;
  input  wire [F_Y_ADDR_W-1:0]             f_y_addr;
  input  wire [F_Y_STEP_W-1:0]             f_y_step;
  input  wire [F_OUT_ADDR_W-1:0]           f_out_addr;
  input  wire [F_OUT_PLANE_W-1:0]          f_out_plane;
  input  wire [F_ROWS_W-1:0]               f_rows;
  input  wire [F_COLS_W-1:0]               f_cols;
  input  wire [F_DEPTH_W-1:0]              f_depth;
  input  wire signed [F_MULT_W-1:0]        f_mult;
  input  wire [F_SHIFT_W-1:0]              f_shift;
  input  wire                              f_x_unsigned;
  input  wire                              f_y_unsigned;
  output wire                              last;
  output wire [MM_ROWS*F_X_ADDR_W-1:0]     x_rd_addr;    // one X byte per tile row
  input  wire [MM_ROWS*ACT_BITS-1:0]       x_rd_data;
  output wire [F_Y_ADDR_W-1:0]             y_rd_addr;    // PIXELS consecutive Y bytes
  input  wire [PIXELS*ACT_BITS-1:0]        y_rd_data;
  output wire                              act_wr;
  output wire [F_OUT_ADDR_W-1:0]           act_wr_addr;  // PIXELS consecutive bytes
  output reg  [PIXELS-1:0]                 act_wr_be;
  output wire [PIXELS*ACT_BITS-1:0]        act_wr_data;

  localparam integer XW = 32;          // counter comparisons against the parameters
  localparam integer OPW = ACT_BITS + 1;  // an int8 or uint8 operand, sign-extended
  localparam integer PW = 2 * OPW;     // one product
  localparam integer MMR_W = 8;        // row index inside a tile (MM_ROWS <= 256)
  reg                          busy, wphase;
  reg [F_X_ADDR_W-1:0]         r_x_addr;
  reg [F_X_ROW_W-1:0]          r_x_row;
  reg [F_X_STEP_W-1:0]         r_x_step;
  reg [F_Y_ADDR_W-1:0]         r_y_addr;
  reg [F_Y_STEP_W-1:0]         r_y_step;
  reg [F_OUT_ADDR_W-1:0]       r_out_addr;
  reg [F_OUT_PLANE_W-1:0]      r_out_plane;
  reg [F_ROWS_W-1:0]           r_rows;
  reg [F_COLS_W-1:0]           r_cols;
  reg [F_DEPTH_W-1:0]          r_depth;
  reg signed [MULT_BITS-1:0]   r_mult;
  reg [SHIFT_BITS-1:0]         r_shift;
  reg                          r_xu, r_yu;
  reg [F_COLS_W-1:0]           n0;       // first token of the tile
  reg [F_ROWS_W-1:0]           m0;       // first row of the tile
  reg [F_DEPTH_W-1:0]          kk;       // MAC step
  reg [MMR_W-1:0]              wr;       // row being written
  reg [F_X_ADDR_W-1:0]         x_tile;   // X[m0][0]
  reg [F_X_ADDR_W-1:0]         x_ptr;    // X[m0][kk]
  reg [F_Y_ADDR_W-1:0]         y_ptr;    // Y[kk][n0]
  reg [F_OUT_ADDR_W-1:0]       o_ptr;    // out[m0 + wr][n0]
  wire [MM_ROWS*PIXELS*ACC_BITS-1:0] acc_flat;  // accumulator (r, p) at (r*PIXELS + p)*ACC_BITS

  wire [XW-1:0] rows_left = {{(XW-F_ROWS_W){1'b0}}, r_rows} - {{(XW-F_ROWS_W){1'b0}}, m0};
  wire [XW-1:0] tile_rows = (rows_left < MM_ROWS) ? rows_left : MM_ROWS;
  wire last_row = ({{(XW-MMR_W){1'b0}}, wr} + 1) >= tile_rows;
  wire last_mtile = ({{(XW-F_ROWS_W){1'b0}}, m0} + MM_ROWS) >= {{(XW-F_ROWS_W){1'b0}}, r_rows};
  wire last_ntile = ({{(XW-F_COLS_W){1'b0}}, n0} + PIXELS) >= {{(XW-F_COLS_W){1'b0}}, r_cols};
  wire last_k = ({{(XW-F_DEPTH_W){1'b0}}, kk} + 1) >= {{(XW-F_DEPTH_W){1'b0}}, r_depth};
  assign last = busy && wphase && last_row && last_mtile && last_ntile;

  assign y_rd_addr = y_ptr;
  assign act_wr = busy && wphase;
  assign act_wr_addr = o_ptr;
  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1)
    act_wr_be[p] = ({{(XW-F_COLS_W){1'b0}}, n0} + p) < {{(XW-F_COLS_W){1'b0}}, r_cols};

  // Tile row r reads X[m0 + r][kk]; rows past `rows` read some byte and are never written.
  genvar g, h;
  generate
    for (g = 0; g < MM_ROWS; g = g + 1) begin : xrow
      localparam [F_X_ADDR_W-1:0] ROW = g;
      wire [F_X_ADDR_W-1:0] row_off = ROW * {{(F_X_ADDR_W-F_X_ROW_W){1'b0}}, r_x_row};
      assign x_rd_addr[g*F_X_ADDR_W +: F_X_ADDR_W] = x_ptr + row_off;
    end
    for (g = 0; g < PIXELS; g = g + 1) begin : wlane
      // acc * mult fits ACC_BITS + MULT_BITS bits: a 32 x 16 multiplier, not REQ's 64-bit one
      wire signed [ACC_BITS-1:0] a = acc_flat[({{(XW-MMR_W){1'b0}}, wr} * PIXELS + g) * ACC_BITS +: ACC_BITS];
      wire signed [ACC_BITS+MULT_BITS-1:0] prod = a * r_mult;
      seedcc_round_sat u_rs (
        .v({{(WIDE_BITS-ACC_BITS-MULT_BITS){prod[ACC_BITS+MULT_BITS-1]}}, prod}),
        .shift(r_shift), .relu(1'b0), .uns(1'b0), .out(act_wr_data[g*ACT_BITS +: ACT_BITS])
      );
    end
    for (g = 0; g < MM_ROWS; g = g + 1) begin : mrow
      wire [ACT_BITS-1:0] xb = x_rd_data[g*ACT_BITS +: ACT_BITS];
      wire signed [OPW-1:0] xv = {xb[ACT_BITS-1] & ~r_xu, xb};
      for (h = 0; h < PIXELS; h = h + 1) begin : mcol
        wire [ACT_BITS-1:0] yb = y_rd_data[h*ACT_BITS +: ACT_BITS];
        wire signed [OPW-1:0] yv = {yb[ACT_BITS-1] & ~r_yu, yb};
        wire signed [PW-1:0] prod = xv * yv;
        wire signed [ACC_BITS-1:0] prod_x = {{(ACC_BITS-PW){prod[PW-1]}}, prod};
        reg signed [ACC_BITS-1:0] a;
        assign acc_flat[(g*PIXELS + h)*ACC_BITS +: ACC_BITS] = a;
        always @(posedge clk)
          if (busy && !wphase) a <= (~|kk ? {ACC_BITS{1'b0}} : a) + prod_x;
      end
    end
  endgenerate

  wire [F_X_ADDR_W-1:0] mtile_step = MM_ROWS[F_X_ADDR_W-1:0] * {{(F_X_ADDR_W-F_X_ROW_W){1'b0}}, r_x_row};
  wire [F_Y_ADDR_W-1:0] next_n0 = {{(F_Y_ADDR_W-F_COLS_W){1'b0}}, n0} + PIXELS[F_Y_ADDR_W-1:0];
  wire [F_OUT_ADDR_W-1:0] next_o0 = {{(F_OUT_ADDR_W-F_COLS_W){1'b0}}, n0} + PIXELS[F_OUT_ADDR_W-1:0];

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      wphase <= 1'b0;
      r_x_addr <= f_x_addr;
      r_x_row <= f_x_row;
      r_x_step <= f_x_step;
      r_y_addr <= f_y_addr;
      r_y_step <= f_y_step;
      r_out_addr <= f_out_addr;
      r_out_plane <= f_out_plane;
      r_rows <= f_rows;
      r_cols <= f_cols;
      r_depth <= f_depth;
      r_mult <= f_mult;
      r_shift <= f_shift;
      r_xu <= f_x_unsigned;
      r_yu <= f_y_unsigned;
      n0 <= {F_COLS_W{1'b0}};
      m0 <= {F_ROWS_W{1'b0}};
      kk <= {F_DEPTH_W{1'b0}};
      wr <= {MMR_W{1'b0}};
      x_tile <= f_x_addr;
      x_ptr <= f_x_addr;
      y_ptr <= f_y_addr;
      o_ptr <= f_out_addr;
    end else if (busy) begin
      if (!wphase) begin
        x_ptr <= x_ptr + {{(F_X_ADDR_W-F_X_STEP_W){1'b0}}, r_x_step};
        y_ptr <= y_ptr + {{(F_Y_ADDR_W-F_Y_STEP_W){1'b0}}, r_y_step};
        kk <= kk + 1'b1;
        if (last_k) begin
          wphase <= 1'b1;
          wr <= {MMR_W{1'b0}};
        end
      end else begin
        o_ptr <= o_ptr + {{(F_OUT_ADDR_W-F_OUT_PLANE_W){1'b0}}, r_out_plane};
        wr <= wr + 1'b1;
        if (last_row) begin
          wphase <= 1'b0;
          kk <= {F_DEPTH_W{1'b0}};
          if (!last_mtile) begin  // next row tile of the same tokens
            m0 <= m0 + MM_ROWS[F_ROWS_W-1:0];
            x_tile <= x_tile + mtile_step;
            x_ptr <= x_tile + mtile_step;
            y_ptr <= r_y_addr + {{(F_Y_ADDR_W-F_COLS_W){1'b0}}, n0};
          end else begin          // next token tile, first row tile
            if (last_ntile) busy <= 1'b0;
            n0 <= n0 + PIXELS[F_COLS_W-1:0];
            m0 <= {F_ROWS_W{1'b0}};
            x_tile <= r_x_addr;
            x_ptr <= r_x_addr;
            y_ptr <= r_y_addr + next_n0;
            o_ptr <= r_out_addr + next_o0;
          end
        end
      end
    end
  end
endmodule
