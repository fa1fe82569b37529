// MAC unit: LANES generator lanes, the LANES x GROUP x PIXELS PE array, and the MAC / SETGEN
// sequencers (docs/isa.md, docs/rtl.md).
//
// MAC, per pixel tile of PIXELS output pixels (ceil(pix_count / PIXELS) tiles):
//   RESTART  1 cycle : every lane reloads its start state; the PEs clear their accumulators,
//                      or with `accumulate` read the tile's acc SRAM row (registered read:
//                      the first STEP adds its term to the words read); the per-pixel window
//                      origins (oy*stride_h - pad_t, ox*stride_w - pad_l) are registered.
//   STEP     in_c*kh*kw cycles, one per (i, ky, kx) in step order: each lane steps once and
//                      gives GROUP sign bits, the mask row gives GROUP codes a lane (and the
//                      sign bits if `stored_signs`), the act SRAM gives one int8 a pixel
//                      (0 outside the input), and each PE adds sign * code * x.
//   WB       1 cycle : the PEs of channels < oc_count and pixels < pix_count write their
//                      words of the tile's acc SRAM row, acc_row + tile: PE (column o,
//                      pixel lane q) owns word o*PIXELS + q of every row (docs/isa.md
//                      "Accumulator layout"), so the array reaches the accumulators through
//                      one row address and no crossbar.
// = ceil(pix_count / PIXELS) * (in_c*kh*kw + 2) execute cycles, the timing model's MAC row.
// Pixels run row-major from (start_oy, start_ox): the first tile's origin is loaded from the
// instruction, each pixel's coordinates are the previous one's "+1, wrap at out_w", and the
// next tile starts where the last one's chain ends (no divider).
// SETGEN: one cycle a lane: lane j <= param[param_addr + LANE_STATE_BYTES*j ..], generator
// gen_id (the param SRAM read is registered: each word is addressed the cycle before, the
// first in the issue cycle).
// SETFRZ: one cycle per FREEZE_STATES_PER_WORD channels: the freeze registers' start states
// (seedcc_freeze.v), thresholds and lock code.
// A frozen MAC (`frozen`) reads no rows: each step the freeze registers give every channel's
// status, and the mask SRAM holds only the stored positions' codes back to back from bit
// mask_bit of byte mask_addr. A bit pointer walks them: the read is MROW bytes from the
// pointer's byte, shifted by its bit; stored channel c takes code number (stored channels
// before c), a locked one lock_code, a pruned one 0; the pointer then advances by
// (stored channels) * code_bits.
// Field widths come from isa.vh, the hardware facts (GROUP, widths, mask row, lane state)
// from hwfacts.vh; non-ANSI ports so that the port widths can use them.
module seedcc_mac #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  start_mac,
  start_setgen,
  start_setfrz,
  f_gen_id,
  f_param_addr,
  f_count,
  f_in_addr,
  f_acc_row,
  f_in_c,
  f_in_h,
  f_in_w,
  f_out_w,
  f_kh,
  f_kw,
  f_stride_h,
  f_stride_w,
  f_pad_t,
  f_pad_l,
  f_oc_count,
  f_start_oy,
  f_start_ox,
  f_pix_count,
  f_mask_addr,
  f_code_bits,
  f_stored_signs,
  f_accumulate,
  f_frozen,
  f_mask_bit,
  f_rep_log2,
  f_x_unsigned,
  f_channels,
  f_prune_thr,
  f_lock_thr,
  f_lock_code,
  last,
  param_rd,
  param_rd_addr,
  param_rd_data,
  mask_rd_addr,
  mask_rd_data,
  act_rd_addr,
  act_rd_data,
  acc_row,
  acc_rd,
  acc_rd_data,
  acc_wr_en,
  acc_wr_data
);
`include "isa.vh"
`include "hwfacts.vh"
  localparam integer NCH = GROUP * LANES;   // channels of the array
  localparam integer NPE = NCH * PIXELS;
  localparam integer NPIX = PIXELS * LANES;   // pixels of a tile when every lane is a copy
  localparam integer REP_MAX = $clog2(LANES + 1) - 1;  // floor(log2 LANES): the most copies
  localparam integer MROW = MASK_ROW_LANE_BYTES * LANES;  // widest mask row (bytes)
  localparam integer GROUP_LOG2 = $clog2(GROUP);
  localparam integer XY_W = 32;             // signed window-coordinate arithmetic

  input  wire                          clk;
  input  wire                          rst_n;
  input  wire                          start_mac;
  input  wire                          start_setgen;
  input  wire                          start_setfrz;
  // decoded fields (valid in the issue cycle)
  input  wire [F_GEN_ID_W-1:0]         f_gen_id;
  input  wire [F_PARAM_ADDR_W-1:0]     f_param_addr;
  input  wire [F_COUNT_W-1:0]          f_count;
  input  wire [F_IN_ADDR_W-1:0]        f_in_addr;
  input  wire [F_ACC_ROW_W-1:0]        f_acc_row;
  input  wire [F_IN_C_W-1:0]           f_in_c;
  input  wire [F_IN_H_W-1:0]           f_in_h;
  input  wire [F_IN_W_W-1:0]           f_in_w;
  input  wire [F_OUT_W_W-1:0]          f_out_w;
  input  wire [F_KH_W-1:0]             f_kh;
  input  wire [F_KW_W-1:0]             f_kw;
  input  wire [F_STRIDE_H_W-1:0]       f_stride_h;
  input  wire [F_STRIDE_W_W-1:0]       f_stride_w;
  input  wire [F_PAD_T_W-1:0]          f_pad_t;
  input  wire [F_PAD_L_W-1:0]          f_pad_l;
  input  wire [F_OC_COUNT_W-1:0]       f_oc_count;
  input  wire [F_START_OY_W-1:0]       f_start_oy;
  input  wire [F_START_OX_W-1:0]       f_start_ox;
  input  wire [F_PIX_COUNT_W-1:0]      f_pix_count;
  input  wire [F_MASK_ADDR_W-1:0]      f_mask_addr;
  input  wire [F_CODE_BITS_W-1:0]      f_code_bits;
  input  wire                          f_stored_signs;
  input  wire                          f_accumulate;
  input  wire                          f_frozen;
  input  wire [F_MASK_BIT_W-1:0]       f_mask_bit;
  input  wire [F_REP_LOG2_W-1:0]       f_rep_log2;
  input  wire                          f_x_unsigned;
  input  wire [F_CHANNELS_W-1:0]       f_channels;
  input  wire [F_PRUNE_THR_W-1:0]      f_prune_thr;
  input  wire [F_LOCK_THR_W-1:0]       f_lock_thr;
  input  wire [F_LOCK_CODE_W-1:0]      f_lock_code;
  output wire                          last;
  // param SRAM (SETGEN, SETFRZ): read one word at param_rd_addr; the word read in the last
  // cycle is on param_rd_data
  output wire                          param_rd;
  output wire [F_PARAM_ADDR_W-1:0]     param_rd_addr;
  input  wire [LANE_STATE_BITS-1:0]    param_rd_data;
  // mask SRAM: MROW bytes from mask_rd_addr
  output wire [F_MASK_ADDR_W-1:0]      mask_rd_addr;
  input  wire [MROW*8-1:0]             mask_rd_data;
  // act SRAM: one activation a pixel of the tile (PIXELS per copy of the lanes)
  output reg  [NPIX*F_IN_ADDR_W-1:0]   act_rd_addr;
  input  wire [NPIX*ACT_BITS-1:0]      act_rd_data;
  // acc SRAM: row acc_row, one word a PE, PE (o, p) at o*PIXELS + p; the read (acc_rd)
  // is registered, its words come the cycle after
  output wire [F_ACC_ROW_W-1:0]        acc_row;
  output wire                          acc_rd;
  input  wire [NPE*ACC_BITS-1:0]       acc_rd_data;
  output reg  [NPE-1:0]                acc_wr_en;
  output wire [NPE*ACC_BITS-1:0]       acc_wr_data;

  localparam [F_PARAM_ADDR_W-1:0] LANE_STRIDE = LANE_STATE_BYTES[F_PARAM_ADDR_W-1:0];
  localparam integer GROUP_MINUS_1 = GROUP - 1;
  localparam [F_OC_COUNT_W-1:0] GROUP_M1 = GROUP_MINUS_1[F_OC_COUNT_W-1:0];
  localparam [F_MASK_ADDR_W-1:0] ROW_LANE = LANE_ROW_BYTES[F_MASK_ADDR_W-1:0];
  localparam [CODE_BITS_MAX-1:0] CODE_ONE = 1;
  localparam [2:0] PH_IDLE = 3'd0, PH_SETGEN = 3'd1, PH_RESTART = 3'd2, PH_STEP = 3'd3, PH_WB = 3'd4,
                   PH_SETFRZ = 3'd5;
  localparam integer BP_W = F_MASK_ADDR_W + F_MASK_BIT_W;  // mask bit pointer
  reg [2:0] ph;

  // ---- SETGEN --------------------------------------------------------------------------
  reg [F_COUNT_W-1:0]      sg_j;
  reg [F_COUNT_W-1:0]      sg_count;
  reg [F_PARAM_ADDR_W-1:0] sg_addr;
  reg [F_GEN_ID_W-1:0]     sg_gen;
  // ---- SETFRZ --------------------------------------------------------------------------
  reg [F_CHANNELS_W-1:0]   sf_w;          // param word being loaded
  reg [F_CHANNELS_W-1:0]   sf_words;      // ceil(channels / FREEZE_STATES_PER_WORD)
  reg [F_PARAM_ADDR_W-1:0] sf_addr;
  reg [F_LOCK_CODE_W-1:0]  r_lock_code;
  localparam integer PER_M1 = FREEZE_STATES_PER_WORD - 1;
  localparam integer PER_LOG2 = $clog2(FREEZE_STATES_PER_WORD);
  // one bit wider than a channel count for the rounding sum; the quotient fits F_CHANNELS_W
  /* verilator lint_off UNUSEDSIGNAL */
  wire [F_CHANNELS_W:0] f_words = ({1'b0, f_channels} + PER_M1[F_CHANNELS_W:0]) >> PER_LOG2;
  /* verilator lint_on UNUSEDSIGNAL */
  // The param SRAM read is registered: the word of cycle j is addressed in cycle j - 1
  // (the issue cycle for the first), so that it is on param_rd_data in cycle j.
  wire param_first = start_setgen | start_setfrz;
  assign param_rd = param_first | ((ph == PH_SETGEN || ph == PH_SETFRZ) && !last);
  assign param_rd_addr = param_first ? f_param_addr
                       : ((ph == PH_SETFRZ) ? sf_addr : sg_addr) + LANE_STRIDE;

  // ---- latched MAC fields --------------------------------------------------------------
  reg [F_IN_ADDR_W-1:0]    r_in_addr;
  reg                      r_xu;          // the input bytes are uint8
  reg [F_ACC_ROW_W-1:0]    r_acc_row;
  reg                      ld_pend;       // the cycle after RESTART: the row read is here
  reg [F_IN_C_W-1:0]       r_in_c;
  reg [F_IN_H_W-1:0]       r_in_h;
  reg [F_IN_W_W-1:0]       r_in_w;
  reg [F_OUT_W_W-1:0]      r_out_w;
  reg [F_KH_W-1:0]         r_kh;
  reg [F_KW_W-1:0]         r_kw;
  reg [F_STRIDE_H_W-1:0]   r_sh;
  reg [F_STRIDE_W_W-1:0]   r_sw;
  reg [F_PAD_T_W-1:0]      r_pt;
  reg [F_PAD_L_W-1:0]      r_pl;
  reg [F_OC_COUNT_W-1:0]   r_oc;
  reg [F_PIX_COUNT_W-1:0]  r_pix_count;
  reg [F_MASK_ADDR_W-1:0]  r_mask_addr;
  reg [F_CODE_BITS_W-1:0]  r_cb;
  reg                      r_ss, r_accum, r_fz;
  reg [F_REP_LOG2_W-1:0]   r_rl;          // log2 of the copies of the lanes in use
  reg [BP_W-1:0]           r_bit0;        // frozen: bit address of the MAC's first code
  reg [BP_W-1:0]           bitptr;        // frozen: bit address of the step's first code
  reg [F_IN_ADDR_W-1:0]    r_plane;       // in_h * in_w
  reg [F_MASK_ADDR_W-1:0]  r_row_bytes;   // mask row stride
  reg [F_OC_COUNT_W+GROUP_LOG2-1:0] r_sign_bits;  // GROUP * ng if stored_signs else 0:
                                                  // where the codes start in a row

  // ---- tile / step state ---------------------------------------------------------------
  reg [F_PIX_COUNT_W-1:0]  p0;            // first pixel of the tile, relative to the MAC's first
  reg [F_PIX_COUNT_W-1:0]  t_oy, t_ox;    // output coordinates of the tile's first pixel
  reg [F_IN_C_W-1:0]       ci;
  reg [F_KH_W-1:0]         ky;
  reg [F_KW_W-1:0]         kx;
  reg [F_IN_ADDR_W-1:0]    chan_base;     // in_addr + ci * plane
  reg [F_MASK_ADDR_W-1:0]  row_ptr;       // mask_addr + step * row_bytes
  reg signed [XY_W-1:0]    org_y [0:NPIX-1];
  reg signed [XY_W-1:0]    org_x [0:NPIX-1];
  reg [NPIX-1:0]           pvalid;

  // ng = ceil(oc_count / GROUP) lanes in use; a row holds LANE_ROW_BYTES*ng bytes per code
  // bit, and as many again of sign bits if they are stored.
  wire [F_OC_COUNT_W-1:0]  f_ng = (f_oc_count + GROUP_M1) >> GROUP_LOG2;
  wire [F_MASK_ADDR_W-1:0] f_ng_bytes = {{(F_MASK_ADDR_W-F_OC_COUNT_W){1'b0}}, f_ng} * ROW_LANE;
  wire [F_MASK_ADDR_W-1:0] f_row_bytes =
      f_ng_bytes * {{(F_MASK_ADDR_W-F_CODE_BITS_W){1'b0}}, f_code_bits}
      + (f_stored_signs ? f_ng_bytes : {F_MASK_ADDR_W{1'b0}});
  wire        no_steps = ~|r_in_c || ~|r_kh || ~|r_kw;
  wire        last_step = (ci == r_in_c - 1'b1) && (ky == r_kh - 1'b1) && (kx == r_kw - 1'b1);
  // a tile covers PIXELS pixels per copy of the lanes in use
  wire [XY_W-1:0] tile_px = PIXELS << r_rl;
  wire        last_tile = ({{(XY_W-F_PIX_COUNT_W){1'b0}}, p0} + tile_px)
                          >= {{(XY_W-F_PIX_COUNT_W){1'b0}}, r_pix_count};

  assign last = (ph == PH_WB && last_tile) || (ph == PH_SETGEN && sg_j == sg_count - 1'b1)
             || (ph == PH_SETFRZ && sf_w == sf_words - 1'b1);

  // ---- pixel coordinates of the current tile: a chain of +1 with wrap at out_w ----------
  reg [F_PIX_COUNT_W-1:0] cy [0:NPIX];
  reg [F_PIX_COUNT_W-1:0] cx [0:NPIX];
  integer p;
  always @* begin
    cy[0] = t_oy;
    cx[0] = t_ox;
    for (p = 0; p < NPIX; p = p + 1) begin
      if (cx[p] + 1'b1 >= {{(F_PIX_COUNT_W-F_OUT_W_W){1'b0}}, r_out_w}) begin
        cy[p+1] = cy[p] + 1'b1;
        cx[p+1] = {F_PIX_COUNT_W{1'b0}};
      end else begin
        cy[p+1] = cy[p];
        cx[p+1] = cx[p] + 1'b1;
      end
    end
  end

  // ---- activations: one gathered activation a pixel, 0 outside the input ---------------
  reg signed [XY_W-1:0] iy, ix;
  reg [NPIX-1:0]        inb;
  reg [NPIX*ACT_BITS-1:0] xs;
  integer pa;
  always @* begin
    for (pa = 0; pa < NPIX; pa = pa + 1) begin
      iy = org_y[pa] + {{(XY_W-F_KH_W){1'b0}}, ky};
      ix = org_x[pa] + {{(XY_W-F_KW_W){1'b0}}, kx};
      inb[pa] = (iy >= 0) && (iy < $signed({{(XY_W-F_IN_H_W){1'b0}}, r_in_h}))
             && (ix >= 0) && (ix < $signed({{(XY_W-F_IN_W_W){1'b0}}, r_in_w}));
      act_rd_addr[pa*F_IN_ADDR_W +: F_IN_ADDR_W] =
          inb[pa] ? chan_base + iy[F_IN_ADDR_W-1:0] * {{(F_IN_ADDR_W-F_IN_W_W){1'b0}}, r_in_w}
                    + ix[F_IN_ADDR_W-1:0]
                  : {F_IN_ADDR_W{1'b0}};
    end
  end
  integer px;
  always @* begin
    for (px = 0; px < NPIX; px = px + 1)
      xs[px*ACT_BITS +: ACT_BITS] = inb[px] ? act_rd_data[px*ACT_BITS +: ACT_BITS]
                                            : {ACT_BITS{1'b0}};
  end

  // ---- mask row: stored signs (optional) then GROUP*ng codes of code_bits bits ----------
  assign mask_rd_addr = r_fz ? bitptr[BP_W-1:F_MASK_BIT_W] : row_ptr;
  wire [MROW*8-1:0] code_vec = r_fz ? mask_rd_data >> bitptr[F_MASK_BIT_W-1:0]
                                    : mask_rd_data >> r_sign_bits;
  reg  [NCH*CODE_BITS_MAX-1:0] codes;
  // All inputs are arguments: @* does not see signals read inside a function body.
  function [CODE_BITS_MAX-1:0] code_at(input [MROW*8-1:0] vec, input integer ch,
                                       input [F_CODE_BITS_W-1:0] cb);
    /* verilator lint_off UNUSEDSIGNAL */  // the code is the low bits of the shifted row
    reg [MROW*8-1:0] sh;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      sh = vec >> (ch * cb);
      code_at = sh[CODE_BITS_MAX-1:0];
    end
  endfunction
  reg  [CODE_BITS_MAX-1:0] cmask;
  wire [NCH-1:0] fz_pruned, fz_locked;
  integer c, nst;  // nst: stored codes before channel c (frozen), then of the whole step
  reg st;
  always @* begin
    cmask = (CODE_ONE << r_cb) - CODE_ONE;
    nst = 0;
    for (c = 0; c < NCH; c = c + 1) begin
      st = (c < r_oc) && !fz_pruned[c] && (!fz_locked[c] || ~|r_lock_code);
      if (!r_fz)
        codes[c*CODE_BITS_MAX +: CODE_BITS_MAX] = (c < r_oc) ? (code_at(code_vec, c, r_cb) & cmask)
                                                             : {CODE_BITS_MAX{1'b0}};
      else if (st)
        codes[c*CODE_BITS_MAX +: CODE_BITS_MAX] = code_at(code_vec, nst, r_cb) & cmask;
      else if ((c < r_oc) && fz_locked[c])
        codes[c*CODE_BITS_MAX +: CODE_BITS_MAX] = r_lock_code;
      else
        codes[c*CODE_BITS_MAX +: CODE_BITS_MAX] = {CODE_BITS_MAX{1'b0}};
      if (st) nst = nst + 1;
    end
  end
  wire [BP_W-1:0] step_bits = nst[BP_W-1:0] * {{(BP_W-F_CODE_BITS_W){1'b0}}, r_cb};

  seedcc_freeze #(.NCH(NCH)) u_freeze (
    .clk(clk),
    .rst_n(rst_n),
    .load(ph == PH_SETFRZ),
    .load_word(sf_w),
    .load_data(param_rd_data),
    .load_thr(start_setfrz),
    .prune_in(f_prune_thr),
    .lock_in(f_lock_thr),
    .restart(ph == PH_RESTART),
    .step(ph == PH_STEP && r_fz),
    .pruned(fz_pruned),
    .locked(fz_locked)
  );

  // ---- lane copies: with 2^rep_log2 copies the LANES tiles form sets of LANES >> rep_log2;
  // tile j is copy j / (LANES >> rep_log2) and takes the weight bits of the lane in use at
  // j mod (LANES >> rep_log2), and the activations of its copy's PIXELS pixels. Both are
  // constants for each rep_log2 (a mux per tile, no divider).
  localparam integer LANE_W = (LANES > 1) ? $clog2(LANES) : 1;
  reg [LANE_W-1:0] t_src  [0:LANES-1];
  reg [LANE_W:0]   t_copy [0:LANES-1];   // LANES for a tile outside every copy
  reg [LANES-1:0]  t_on;
  integer tj, tl;
  /* verilator lint_off UNUSEDSIGNAL */  // constants below LANES
  integer tsrc_c, tcopy_c;
  /* verilator lint_on UNUSEDSIGNAL */
  always @* begin
    tsrc_c = 0;
    tcopy_c = 0;
    for (tj = 0; tj < LANES; tj = tj + 1) begin
      t_src[tj] = tj[LANE_W-1:0];
      t_copy[tj] = {(LANE_W+1){1'b0}};
      for (tl = 1; tl <= REP_MAX; tl = tl + 1)
        if ({{(32-F_REP_LOG2_W){1'b0}}, r_rl} == tl) begin
          tsrc_c = tj % (LANES >> tl);
          tcopy_c = tj / (LANES >> tl);
          t_src[tj] = tsrc_c[LANE_W-1:0];
          t_copy[tj] = tcopy_c[LANE_W:0];
        end
      t_on[tj] = ({{(32-LANE_W-1){1'b0}}, t_copy[tj]} < (1 << r_rl));
    end
  end

  // ---- lanes and PE tiles ---------------------------------------------------------------
  wire [NCH-1:0] lane_bits;
  /* verilator lint_off UNUSEDSIGNAL */  // the lanes' registers, for waveforms and unit tests
  wire [LANES*LANE_STATE_BITS-1:0] lane_state;
  wire [LANES*GEN_ID_BITS-1:0]     lane_gen;
  /* verilator lint_on UNUSEDSIGNAL */
  wire [NCH-1:0] signs = r_ss ? mask_rd_data[NCH-1:0] : lane_bits;
  // without `accumulate` the PEs clear in RESTART; with it they take the row read in
  // RESTART one cycle later, together with the first step's term
  wire pe_load = r_accum ? ld_pend : (ph == PH_RESTART);
  assign acc_row = r_acc_row;
  assign acc_rd = (ph == PH_RESTART) && r_accum;
  wire pe_en = (ph == PH_STEP);
  reg  [NPE*ACC_BITS-1:0] load_vals;
  wire [NPE*ACC_BITS-1:0] accs;
  assign acc_wr_data = accs;
  integer lv;  // per PE: a whole-array zero would be a replication past Verilator's limit at DEFAULT
  always @*
    for (lv = 0; lv < NPE; lv = lv + 1)
      load_vals[lv*ACC_BITS +: ACC_BITS] = r_accum ? acc_rd_data[lv*ACC_BITS +: ACC_BITS] : {ACC_BITS{1'b0}};

  genvar j;
  generate
    for (j = 0; j < LANES; j = j + 1) begin : lane
      seedcc_genlane u_gen (
        .clk(clk),
        .rst_n(rst_n),
        .load(ph == PH_SETGEN && {{(XY_W-F_COUNT_W){1'b0}}, sg_j} == j),
        .load_state(param_rd_data),
        .load_gen(sg_gen),
        .restart(ph == PH_RESTART),
        .step(ph == PH_STEP && !r_ss),
        .bits(lane_bits[j*GROUP +: GROUP]),
        .state(lane_state[j*LANE_STATE_BITS +: LANE_STATE_BITS]),
        .gen(lane_gen[j*GEN_ID_BITS +: GEN_ID_BITS])
      );
      // PE (o, p) of the whole array is PE (o - GROUP*j, p) of tile j: flat index o*PIXELS+p.
      seedcc_pe_tile #(.PIXELS(PIXELS)) u_tile (
        .clk(clk),
        .load(pe_load),
        .load_val(load_vals[j*GROUP*PIXELS*ACC_BITS +: GROUP*PIXELS*ACC_BITS]),
        .en(pe_en),
        .signs(signs[t_src[j]*GROUP +: GROUP]),
        .codes(codes[t_src[j]*GROUP*CODE_BITS_MAX +: GROUP*CODE_BITS_MAX]),
        .x(xs[t_copy[j]*PIXELS*ACT_BITS +: PIXELS*ACT_BITS]),
        .xu(r_xu),
        .acc(accs[j*GROUP*PIXELS*ACC_BITS +: GROUP*PIXELS*ACC_BITS])
      );
    end
  endgenerate

  // ---- accumulator write enables -------------------------------------------------------
  // PE (o, q) of the array, o = GROUP*j + b in tile j, is channel GROUP*src + b at pixel
  // copy*PIXELS + q of the tile. A tile without steps that accumulates leaves its row as it is.
  integer o, q, ch;
  /* verilator lint_off UNUSEDSIGNAL */  // a pixel of the tile: below NPIX
  integer px_t;
  /* verilator lint_on UNUSEDSIGNAL */
  always @* begin
    for (o = 0; o < NCH; o = o + 1)
      for (q = 0; q < PIXELS; q = q + 1) begin
        ch = t_src[o / GROUP] * GROUP + o % GROUP;
        px_t = t_copy[o / GROUP] * PIXELS + q;
        acc_wr_en[o*PIXELS+q] = (ph == PH_WB) && t_on[o / GROUP] && (ch < r_oc)
                                && pvalid[px_t] && !(no_steps && r_accum);
      end
  end

  // ---- sequencer ------------------------------------------------------------------------
  integer pr;
  always @(posedge clk) begin
    if (!rst_n) begin
      ph <= PH_IDLE;
      sg_j <= {F_COUNT_W{1'b0}};
      sg_count <= {F_COUNT_W{1'b0}};
      sg_addr <= {F_PARAM_ADDR_W{1'b0}};
      sg_gen <= {F_GEN_ID_W{1'b0}};
      sf_w <= {F_CHANNELS_W{1'b0}};
      sf_words <= {F_CHANNELS_W{1'b0}};
      sf_addr <= {F_PARAM_ADDR_W{1'b0}};
      r_lock_code <= {F_LOCK_CODE_W{1'b0}};
      r_fz <= 1'b0;
      bitptr <= {BP_W{1'b0}};
      p0 <= {F_PIX_COUNT_W{1'b0}};
      t_oy <= {F_PIX_COUNT_W{1'b0}};
      t_ox <= {F_PIX_COUNT_W{1'b0}};
      ci <= {F_IN_C_W{1'b0}};
      ky <= {F_KH_W{1'b0}};
      kx <= {F_KW_W{1'b0}};
      chan_base <= {F_IN_ADDR_W{1'b0}};
      row_ptr <= {F_MASK_ADDR_W{1'b0}};
      pvalid <= {NPIX{1'b0}};
      r_rl <= {F_REP_LOG2_W{1'b0}};
      ld_pend <= 1'b0;
    end else begin
      ld_pend <= (ph == PH_RESTART);
      case (ph)
        PH_IDLE: begin
          if (start_setgen) begin
            ph <= PH_SETGEN;
            sg_j <= {F_COUNT_W{1'b0}};
            sg_count <= f_count;
            sg_addr <= f_param_addr;
            sg_gen <= f_gen_id;
          end else if (start_setfrz) begin
            ph <= PH_SETFRZ;
            sf_w <= {F_CHANNELS_W{1'b0}};
            sf_words <= f_words[F_CHANNELS_W-1:0];
            sf_addr <= f_param_addr;
            r_lock_code <= f_lock_code;
          end else if (start_mac) begin
            ph <= PH_RESTART;
            r_in_addr <= f_in_addr;
            r_xu <= f_x_unsigned;
            r_acc_row <= f_acc_row;
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
            r_fz <= f_frozen;
            r_rl <= f_rep_log2;
            r_bit0 <= {f_mask_addr, f_mask_bit};
            r_plane <= {{(F_IN_ADDR_W-F_IN_H_W){1'b0}}, f_in_h}
                       * {{(F_IN_ADDR_W-F_IN_W_W){1'b0}}, f_in_w};
            r_row_bytes <= f_row_bytes;
            r_sign_bits <= f_stored_signs ? {f_ng, {GROUP_LOG2{1'b0}}}
                                          : {(F_OC_COUNT_W+GROUP_LOG2){1'b0}};
            p0 <= {F_PIX_COUNT_W{1'b0}};
            // the instruction gives the first pixel's coordinates (start_ox < out_w, the
            // decoder's rule): the tile origin is a load, and later ones come from cy / cx
            t_oy <= {{(F_PIX_COUNT_W-F_START_OY_W){1'b0}}, f_start_oy};
            t_ox <= {{(F_PIX_COUNT_W-F_START_OX_W){1'b0}}, f_start_ox};
          end
        end
        PH_SETGEN: begin
          sg_j <= sg_j + 1'b1;
          sg_addr <= sg_addr + LANE_STRIDE;
          if (last) ph <= PH_IDLE;
        end
        PH_SETFRZ: begin
          sf_w <= sf_w + 1'b1;
          sf_addr <= sf_addr + LANE_STRIDE;
          if (last) ph <= PH_IDLE;
        end
        PH_RESTART: begin
          for (pr = 0; pr < NPIX; pr = pr + 1) begin
            org_y[pr] <= $signed({{(XY_W-F_PIX_COUNT_W){1'b0}}, cy[pr]})
                         * $signed({{(XY_W-F_STRIDE_H_W){1'b0}}, r_sh})
                         - $signed({{(XY_W-F_PAD_T_W){1'b0}}, r_pt});
            org_x[pr] <= $signed({{(XY_W-F_PIX_COUNT_W){1'b0}}, cx[pr]})
                         * $signed({{(XY_W-F_STRIDE_W_W){1'b0}}, r_sw})
                         - $signed({{(XY_W-F_PAD_L_W){1'b0}}, r_pl});
            pvalid[pr] <= ({{(XY_W-F_PIX_COUNT_W){1'b0}}, p0} + pr)
                          < {{(XY_W-F_PIX_COUNT_W){1'b0}}, r_pix_count};
          end
          ci <= {F_IN_C_W{1'b0}};
          ky <= {F_KH_W{1'b0}};
          kx <= {F_KW_W{1'b0}};
          chan_base <= r_in_addr;
          row_ptr <= r_mask_addr;
          bitptr <= r_bit0;
          ph <= no_steps ? PH_WB : PH_STEP;
        end
        PH_STEP: begin
          row_ptr <= row_ptr + r_row_bytes;
          bitptr <= bitptr + step_bits;
          if (kx == r_kw - 1'b1) begin
            kx <= {F_KW_W{1'b0}};
            if (ky == r_kh - 1'b1) begin
              ky <= {F_KH_W{1'b0}};
              ci <= ci + 1'b1;
              chan_base <= chan_base + r_plane;
            end else begin
              ky <= ky + 1'b1;
            end
          end else begin
            kx <= kx + 1'b1;
          end
          if (last_step) ph <= PH_WB;
        end
        PH_WB: begin
          r_acc_row <= r_acc_row + 1'b1;  // the next tile's row
          p0 <= p0 + tile_px[F_PIX_COUNT_W-1:0];
          t_oy <= cy[tile_px];
          t_ox <= cx[tile_px];
          ph <= last_tile ? PH_IDLE : PH_RESTART;
        end
        default: ph <= PH_IDLE;
      endcase
    end
  end
endmodule
