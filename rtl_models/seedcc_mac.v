// MAC unit: LANES generator lanes, the LANES x 16 x PIXELS PE array, and the MAC / SETGEN
// sequencers (docs/isa.md, docs/rtl.md).
//
// MAC, per pixel tile of PIXELS output pixels (ceil(pix_count / PIXELS) tiles):
//   RESTART  1 cycle : every lane reloads its start state; the PEs load their accumulators
//                      (from acc SRAM if `accumulate`, else 0); the per-pixel window
//                      origins (oy*stride_h - pad_t, ox*stride_w - pad_l) are registered.
//   STEP     in_c*kh*kw cycles, one per (i, ky, kx) in step order: each lane steps once and
//                      gives 16 sign bits, the mask row gives 16 codes a lane (and the sign
//                      bits if `stored_signs`), the act SRAM gives one int8 a pixel
//                      (0 outside the input), and each PE adds sign * code * x.
//   WB       1 cycle : the PEs of channels < oc_count and pixels < pix_count are written to
//                      acc[acc_addr + o*pix_count + p].
// = ceil(pix_count / PIXELS) * (in_c*kh*kw + 2) execute cycles, the timing model's MAC row.
// SETGEN: one cycle a lane: lane j <= param[param_addr + 8j .. +7], generator gen_id.
module seedcc_mac #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4
) (
  input  wire                         clk,
  input  wire                         rst_n,
  input  wire                         start_mac,
  input  wire                         start_setgen,
  // decoded fields (valid in the issue cycle)
  input  wire [1:0]                   f_gen_id,
  input  wire [15:0]                  f_param_addr,
  input  wire [7:0]                   f_count,
  input  wire [23:0]                  f_in_addr,
  input  wire [19:0]                  f_acc_addr,
  input  wire [15:0]                  f_in_c,
  input  wire [11:0]                  f_in_h,
  input  wire [11:0]                  f_in_w,
  input  wire [11:0]                  f_out_w,
  input  wire [4:0]                   f_kh,
  input  wire [4:0]                   f_kw,
  input  wire [3:0]                   f_stride_h,
  input  wire [3:0]                   f_stride_w,
  input  wire [2:0]                   f_pad_t,
  input  wire [2:0]                   f_pad_l,
  input  wire [15:0]                  f_oc_count,
  input  wire [19:0]                  f_pix_start,
  input  wire [19:0]                  f_pix_count,
  input  wire [23:0]                  f_mask_addr,
  input  wire [2:0]                   f_code_bits,
  input  wire                         f_stored_signs,
  input  wire                         f_accumulate,
  output wire                         last,
  // param SRAM (SETGEN): 8 bytes at param_rd_addr
  output wire [15:0]                  param_rd_addr,
  input  wire [63:0]                  param_rd_data,
  // mask SRAM: MROW bytes from mask_rd_addr
  output wire [23:0]                  mask_rd_addr,
  input  wire [16*LANES*8-1:0]        mask_rd_data,
  // act SRAM: one byte a pixel
  output reg  [PIXELS*24-1:0]         act_rd_addr,
  input  wire [PIXELS*8-1:0]          act_rd_data,
  // acc SRAM: one word a PE, PE (o, p) at o*PIXELS + p; same address for read and write
  output reg  [16*LANES*PIXELS*20-1:0] acc_addr,
  input  wire [16*LANES*PIXELS*32-1:0] acc_rd_data,
  output reg  [16*LANES*PIXELS-1:0]    acc_wr_en,
  output wire [16*LANES*PIXELS*32-1:0] acc_wr_data
);
  localparam integer NCH = 16 * LANES;      // channels of the array
  localparam integer NPE = NCH * PIXELS;
  localparam integer MROW = 16 * LANES;     // widest mask row: 2*LANES sign + 2*LANES*7 code bytes
  localparam integer CODE_W = 7;

  localparam [19:0] PIX20 = PIXELS[19:0];
  localparam [2:0] PH_IDLE = 3'd0, PH_SETGEN = 3'd1, PH_RESTART = 3'd2, PH_STEP = 3'd3, PH_WB = 3'd4;
  reg [2:0] ph;

  // ---- SETGEN --------------------------------------------------------------------------
  reg [7:0]  sg_j;
  reg [7:0]  sg_count;
  reg [15:0] sg_addr;
  reg [1:0]  sg_gen;
  assign param_rd_addr = sg_addr;

  // ---- latched MAC fields --------------------------------------------------------------
  reg [23:0] r_in_addr;
  reg [19:0] r_acc_addr;
  reg [15:0] r_in_c;
  reg [11:0] r_in_h, r_in_w, r_out_w;
  reg [4:0]  r_kh, r_kw;
  reg [3:0]  r_sh, r_sw;
  reg [2:0]  r_pt, r_pl;
  reg [15:0] r_oc;
  reg [19:0] r_pix_count;
  reg [23:0] r_mask_addr;
  reg [2:0]  r_cb;
  reg        r_ss, r_accum;
  reg [23:0] r_plane;       // in_h * in_w
  reg [23:0] r_row_bytes;   // mask row stride
  reg [19:0] r_sign_bits;   // 16 * ng if stored_signs else 0: where the codes start in a row

  // ---- tile / step state ---------------------------------------------------------------
  reg [19:0] p0;            // first pixel of the tile, relative to pix_start
  reg [19:0] t_oy, t_ox;    // output coordinates of the tile's first pixel
  reg [15:0] ci;
  reg [4:0]  ky, kx;
  reg [23:0] chan_base;     // in_addr + ci * plane
  reg [23:0] row_ptr;       // mask_addr + step * row_bytes
  reg signed [31:0] org_y [0:PIXELS-1];
  reg signed [31:0] org_x [0:PIXELS-1];
  reg [PIXELS-1:0]  pvalid;

  // ng = ceil(oc_count / 16) lanes in use; stored sign bits occupy 2*ng bytes.
  wire [15:0] f_ng = (f_oc_count + 16'd15) >> 4;
  wire [23:0] f_row_bytes = {f_ng[14:0], 1'b0} * {21'd0, f_code_bits}
                          + (f_stored_signs ? {7'd0, f_ng, 1'b0} : 24'd0);
  wire        no_steps = (r_in_c == 16'd0) || (r_kh == 5'd0) || (r_kw == 5'd0);
  wire        last_step = (ci == r_in_c - 16'd1) && (ky == r_kh - 5'd1) && (kx == r_kw - 5'd1);
  wire        last_tile = ({12'd0, p0} + PIXELS) >= {12'd0, r_pix_count};

  assign last = (ph == PH_WB && last_tile) || (ph == PH_SETGEN && sg_j == sg_count - 8'd1);

  // ---- pixel coordinates of the current tile: a chain of +1 with wrap at out_w ----------
  reg [19:0] cy [0:PIXELS];
  reg [19:0] cx [0:PIXELS];
  integer p;
  always @* begin
    cy[0] = t_oy;
    cx[0] = t_ox;
    for (p = 0; p < PIXELS; p = p + 1) begin
      if (cx[p] + 20'd1 >= {8'd0, r_out_w}) begin
        cy[p+1] = cy[p] + 20'd1;
        cx[p+1] = 20'd0;
      end else begin
        cy[p+1] = cy[p];
        cx[p+1] = cx[p] + 20'd1;
      end
    end
  end

  // ---- activations: one gathered byte a pixel, 0 outside the input ----------------------
  reg signed [31:0] iy, ix;
  reg [PIXELS-1:0]  inb;
  reg [PIXELS*8-1:0] xs;
  integer pa;
  always @* begin
    for (pa = 0; pa < PIXELS; pa = pa + 1) begin
      iy = org_y[pa] + {27'd0, ky};
      ix = org_x[pa] + {27'd0, kx};
      inb[pa] = (iy >= 0) && (iy < $signed({20'd0, r_in_h}))
             && (ix >= 0) && (ix < $signed({20'd0, r_in_w}));
      act_rd_addr[pa*24 +: 24] = inb[pa] ? chan_base + iy[23:0] * {12'd0, r_in_w} + ix[23:0]
                                         : 24'd0;
    end
  end
  integer px;
  always @* begin
    for (px = 0; px < PIXELS; px = px + 1)
      xs[px*8 +: 8] = inb[px] ? act_rd_data[px*8 +: 8] : 8'd0;
  end

  // ---- mask row: stored signs (optional) then 16*ng codes of code_bits bits -------------
  assign mask_rd_addr = row_ptr;
  wire [MROW*8-1:0] code_vec = mask_rd_data >> r_sign_bits;
  reg  [NCH*CODE_W-1:0] codes;
  // All inputs are arguments: @* does not see signals read inside a function body.
  function [CODE_W-1:0] code_at(input [MROW*8-1:0] vec, input integer ch, input [2:0] cb);
    reg [MROW*8-1:0] sh;
    begin
      sh = vec >> (ch * cb);
      code_at = sh[CODE_W-1:0];
    end
  endfunction
  reg  [CODE_W-1:0] cmask;
  integer c;
  always @* begin
    cmask = (7'd1 << r_cb) - 7'd1;
    for (c = 0; c < NCH; c = c + 1)
      codes[c*CODE_W +: CODE_W] = (c < r_oc) ? (code_at(code_vec, c, r_cb) & cmask)
                                             : {CODE_W{1'b0}};
  end

  // ---- lanes and PE tiles ---------------------------------------------------------------
  wire [16*LANES-1:0] lane_bits;
  wire [NCH-1:0] signs = r_ss ? mask_rd_data[NCH-1:0] : lane_bits;
  wire pe_load = (ph == PH_RESTART);
  wire pe_en = (ph == PH_STEP);
  reg  [NPE*32-1:0] load_vals;
  wire [NPE*32-1:0] accs;
  assign acc_wr_data = accs;
  always @* load_vals = r_accum ? acc_rd_data : {NPE{32'd0}};

  genvar j;
  generate
    for (j = 0; j < LANES; j = j + 1) begin : lane
      seedcc_genlane u_gen (
        .clk(clk),
        .rst_n(rst_n),
        .load(ph == PH_SETGEN && {24'd0, sg_j} == j),
        .load_state(param_rd_data),
        .load_gen(sg_gen),
        .restart(ph == PH_RESTART),
        .step(ph == PH_STEP && !r_ss),
        .bits(lane_bits[j*16 +: 16]),
        .state(),
        .gen()
      );
      // PE (o, p) of the whole array is PE (o - 16j, p) of tile j: flat index o*PIXELS+p.
      seedcc_pe_tile #(.PIXELS(PIXELS), .CODE_W(CODE_W)) u_tile (
        .clk(clk),
        .load(pe_load),
        .load_val(load_vals[j*16*PIXELS*32 +: 16*PIXELS*32]),
        .en(pe_en),
        .signs(signs[j*16 +: 16]),
        .codes(codes[j*16*CODE_W +: 16*CODE_W]),
        .x(xs),
        .acc(accs[j*16*PIXELS*32 +: 16*PIXELS*32])
      );
    end
  endgenerate

  // ---- accumulator addresses and write enables ------------------------------------------
  integer o, q;
  always @* begin
    for (o = 0; o < NCH; o = o + 1)
      for (q = 0; q < PIXELS; q = q + 1) begin
        acc_addr[(o*PIXELS+q)*20 +: 20] = r_acc_addr + o[19:0] * r_pix_count + p0 + q[19:0];
        acc_wr_en[o*PIXELS+q] = (ph == PH_WB) && (o < r_oc) && pvalid[q];
      end
  end

  // ---- sequencer ------------------------------------------------------------------------
  integer pr;
  wire [11:0] f_out_w_nz = (f_out_w == 12'd0) ? 12'd1 : f_out_w;
  always @(posedge clk) begin
    if (!rst_n) begin
      ph <= PH_IDLE;
      sg_j <= 8'd0;
      sg_count <= 8'd0;
      sg_addr <= 16'd0;
      sg_gen <= 2'd0;
      p0 <= 20'd0;
      t_oy <= 20'd0;
      t_ox <= 20'd0;
      ci <= 16'd0;
      ky <= 5'd0;
      kx <= 5'd0;
      chan_base <= 24'd0;
      row_ptr <= 24'd0;
      pvalid <= {PIXELS{1'b0}};
    end else begin
      case (ph)
        PH_IDLE: begin
          if (start_setgen) begin
            ph <= PH_SETGEN;
            sg_j <= 8'd0;
            sg_count <= f_count;
            sg_addr <= f_param_addr;
            sg_gen <= f_gen_id;
          end else if (start_mac) begin
            ph <= PH_RESTART;
            r_in_addr <= f_in_addr;
            r_acc_addr <= f_acc_addr;
            r_in_c <= f_in_c;
            r_in_h <= f_in_h;
            r_in_w <= f_in_w;
            r_out_w <= f_out_w;
            r_kh <= f_kh;
            r_kw <= f_kw;
            r_sh <= f_stride_h;
            r_sw <= f_stride_w;
            r_pt <= f_pad_t;
            r_pl <= f_pad_l;
            r_oc <= f_oc_count;
            r_pix_count <= f_pix_count;
            r_mask_addr <= f_mask_addr;
            r_cb <= f_code_bits;
            r_ss <= f_stored_signs;
            r_accum <= f_accumulate;
            r_plane <= {12'd0, f_in_h} * {12'd0, f_in_w};
            r_row_bytes <= f_row_bytes;
            r_sign_bits <= f_stored_signs ? {f_ng, 4'd0} : 20'd0;
            p0 <= 20'd0;
            t_oy <= f_pix_start / {8'd0, f_out_w_nz};
            t_ox <= f_pix_start % {8'd0, f_out_w_nz};
          end
        end
        PH_SETGEN: begin
          sg_j <= sg_j + 8'd1;
          sg_addr <= sg_addr + 16'd8;
          if (last) ph <= PH_IDLE;
        end
        PH_RESTART: begin
          for (pr = 0; pr < PIXELS; pr = pr + 1) begin
            org_y[pr] <= $signed({12'd0, cy[pr]}) * $signed({28'd0, r_sh}) - $signed({29'd0, r_pt});
            org_x[pr] <= $signed({12'd0, cx[pr]}) * $signed({28'd0, r_sw}) - $signed({29'd0, r_pl});
            pvalid[pr] <= ({12'd0, p0} + pr) < {12'd0, r_pix_count};
          end
          ci <= 16'd0;
          ky <= 5'd0;
          kx <= 5'd0;
          chan_base <= r_in_addr;
          row_ptr <= r_mask_addr;
          ph <= no_steps ? PH_WB : PH_STEP;
        end
        PH_STEP: begin
          row_ptr <= row_ptr + r_row_bytes;
          if (kx == r_kw - 5'd1) begin
            kx <= 5'd0;
            if (ky == r_kh - 5'd1) begin
              ky <= 5'd0;
              ci <= ci + 16'd1;
              chan_base <= chan_base + r_plane;
            end else begin
              ky <= ky + 5'd1;
            end
          end else begin
            kx <= kx + 5'd1;
          end
          if (last_step) ph <= PH_WB;
        end
        PH_WB: begin
          p0 <= p0 + PIX20;
          t_oy <= cy[PIXELS];
          t_ox <= cx[PIXELS];
          ph <= last_tile ? PH_IDLE : PH_RESTART;
        end
        default: ph <= PH_IDLE;
      endcase
    end
  end
endmodule
