// Block-test harness: the decoder, one generator lane, one PE tile and one requantiser
// side by side, so a single build serves every block test (tests/rtl/test_blocks.py).
// Inputs are driven from cocotb; decoder outputs are read hierarchically (dec_*).
// Widths come from isa.vh and hwfacts.vh (non-ANSI ports so that the port widths can use them).
module seedcc_blocks_tb #(
  parameter integer PIXELS = 4
) (
  clk,
  rst_n,
  dec_word,
  gl_load,
  gl_load_state,
  gl_load_gen,
  gl_restart,
  gl_step,
  gl_bits,
  gl_state,
  pe_load,
  pe_load_val,
  pe_en,
  pe_signs,
  pe_codes,
  pe_x,
  pe_xu,
  pe_acc,
  rq_acc,
  rq_bias,
  rq_mult,
  rq_shift,
  rq_relu,
  rq_uns,
  rq_out,
  rq_out_wide
);
`include "isa.vh"
`include "hwfacts.vh"
  input  wire                             clk;
  input  wire                             rst_n;
  // decoder
  input  wire [ISA_WORD_BITS-1:0]         dec_word;
  // generator lane
  input  wire                             gl_load;
  input  wire [LANE_STATE_BITS-1:0]       gl_load_state;
  input  wire [GEN_ID_BITS-1:0]           gl_load_gen;
  input  wire                             gl_restart;
  input  wire                             gl_step;
  output wire [GROUP-1:0]                 gl_bits;
  output wire [LANE_STATE_BITS-1:0]       gl_state;
  // PE tile (GROUP channels x PIXELS pixels)
  input  wire                             pe_load;
  input  wire [GROUP*PIXELS*ACC_BITS-1:0] pe_load_val;
  input  wire                             pe_en;
  input  wire [GROUP-1:0]                 pe_signs;
  input  wire [GROUP*CODE_BITS_MAX-1:0]   pe_codes;
  input  wire [PIXELS*ACT_BITS-1:0]       pe_x;
  input  wire                             pe_xu;
  output wire [GROUP*PIXELS*ACC_BITS-1:0] pe_acc;
  // requantiser
  input  wire signed [ACC_BITS-1:0]       rq_acc;
  input  wire signed [ACC_BITS-1:0]       rq_bias;
  input  wire signed [MULT_BITS-1:0]      rq_mult;
  input  wire [SHIFT_BITS-1:0]            rq_shift;
  input  wire                             rq_relu;
  input  wire                             rq_uns;
  output wire signed [ACT_BITS-1:0]       rq_out;
  output wire signed [ACC_BITS-1:0]       rq_out_wide;

  // The decoder outputs are read by tests/rtl/tb_decode.py through the hierarchy, not here.
  /* verilator lint_off UNUSEDSIGNAL */
  wire [ISA_OPCODE_BITS-1:0] dec_opcode;
  wire dec_known, dec_illegal;
  wire [F_SPACE_W-1:0] dec_f_space;
  wire [F_SRAM_ADDR_W-1:0] dec_f_sram_addr;
  wire [F_DRAM_ADDR_W-1:0] dec_f_dram_addr;
  wire [F_LENGTH_W-1:0] dec_f_length;
  wire [F_BACKGROUND_W-1:0] dec_f_background;
  wire [F_GEN_ID_W-1:0] dec_f_gen_id;
  wire [F_PARAM_ADDR_W-1:0] dec_f_param_addr;
  wire [F_COUNT_W-1:0] dec_f_count;
  wire [F_IN_ADDR_W-1:0] dec_f_in_addr;
  wire [F_ACC_ROW_W-1:0] dec_f_acc_row;
  wire [F_IN_C_W-1:0] dec_f_in_c;
  wire [F_IN_H_W-1:0] dec_f_in_h;
  wire [F_IN_W_W-1:0] dec_f_in_w;
  wire [F_OUT_W_W-1:0] dec_f_out_w;
  wire [F_KH_W-1:0] dec_f_kh;
  wire [F_KW_W-1:0] dec_f_kw;
  wire [F_STRIDE_H_W-1:0] dec_f_stride_h;
  wire [F_STRIDE_W_W-1:0] dec_f_stride_w;
  wire [F_PAD_T_W-1:0] dec_f_pad_t;
  wire [F_PAD_L_W-1:0] dec_f_pad_l;
  wire [F_OC_COUNT_W-1:0] dec_f_oc_count;
  wire [F_START_OY_W-1:0] dec_f_start_oy;
  wire [F_START_OX_W-1:0] dec_f_start_ox;
  wire [F_PIX_COUNT_W-1:0] dec_f_pix_count;
  wire [F_MASK_ADDR_W-1:0] dec_f_mask_addr;
  wire [F_CODE_BITS_W-1:0] dec_f_code_bits;
  wire [F_STORED_SIGNS_W-1:0] dec_f_stored_signs;
  wire [F_ACCUMULATE_W-1:0] dec_f_accumulate;
  wire [F_OUT_ADDR_W-1:0] dec_f_out_addr;
  wire [F_OUT_PLANE_W-1:0] dec_f_out_plane;
  wire [F_RELU_W-1:0] dec_f_relu;
  wire [F_A_ADDR_W-1:0] dec_f_a_addr;
  wire [F_B_ADDR_W-1:0] dec_f_b_addr;
  wire signed [F_MULT_A_W-1:0] dec_f_mult_a;
  wire signed [F_MULT_B_W-1:0] dec_f_mult_b;
  wire [F_SHIFT_W-1:0] dec_f_shift;
  wire [F_CHANNELS_W-1:0] dec_f_channels;
  wire [F_OUT_H_W-1:0] dec_f_out_h;
  wire signed [F_MULT_W-1:0] dec_f_mult;
  wire [F_ITERATIONS_W-1:0] dec_f_iterations;
  wire [F_BODY_LEN_W-1:0] dec_f_body_len;
  wire [F_DRAM_STRIDE_W-1:0] dec_f_dram_stride;
  wire [F_FROZEN_W-1:0] dec_f_frozen;
  wire [F_MASK_BIT_W-1:0] dec_f_mask_bit;
  wire [F_REP_LOG2_W-1:0] dec_f_rep_log2;
  wire [F_PRUNE_THR_W-1:0] dec_f_prune_thr;
  wire [F_LOCK_THR_W-1:0] dec_f_lock_thr;
  wire [F_LOCK_CODE_W-1:0] dec_f_lock_code;
  wire [F_X_ADDR_W-1:0] dec_f_x_addr;
  wire [F_X_ROW_W-1:0] dec_f_x_row;
  wire [F_X_STEP_W-1:0] dec_f_x_step;
  wire [F_Y_ADDR_W-1:0] dec_f_y_addr;
  wire [F_Y_STEP_W-1:0] dec_f_y_step;
  wire [F_ROWS_W-1:0] dec_f_rows;
  wire [F_COLS_W-1:0] dec_f_cols;
  wire [F_DEPTH_W-1:0] dec_f_depth;
  wire [F_X_UNSIGNED_W-1:0] dec_f_x_unsigned;
  wire [F_OUT_UNSIGNED_W-1:0] dec_f_out_unsigned;
  wire [F_OUT_WIDE_W-1:0] dec_f_out_wide;
  wire [F_A_UNSIGNED_W-1:0] dec_f_a_unsigned;
  wire [F_B_UNSIGNED_W-1:0] dec_f_b_unsigned;
  wire [F_IN_UNSIGNED_W-1:0] dec_f_in_unsigned;
  wire [F_Y_UNSIGNED_W-1:0] dec_f_y_unsigned;
  wire [F_TOKENS_W-1:0] dec_f_tokens;
  wire [F_FEATURES_W-1:0] dec_f_features;
  wire [F_IN_PLANE_W-1:0] dec_f_in_plane;
  wire [F_IN_MULT_W-1:0] dec_f_in_mult;
  wire [F_IN_SHIFT_W-1:0] dec_f_in_shift;
  wire [F_EPS_W-1:0] dec_f_eps;
  wire signed [F_OUT_MULT_W-1:0] dec_f_out_mult;
  wire [F_OUT_SHIFT_W-1:0] dec_f_out_shift;
  wire [F_IN_NODES_W-1:0] dec_f_in_nodes;
  wire [F_ROW_COUNT_W-1:0] dec_f_row_count;
  wire [F_NNZ_W-1:0] dec_f_nnz;
  wire [F_CSR_ADDR_W-1:0] dec_f_csr_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  seedcc_decode u_dec (
    .word(dec_word), .opcode(dec_opcode), .known(dec_known), .illegal(dec_illegal),
    .f_space(dec_f_space),
    .f_sram_addr(dec_f_sram_addr),
    .f_dram_addr(dec_f_dram_addr),
    .f_length(dec_f_length),
    .f_background(dec_f_background),
    .f_gen_id(dec_f_gen_id),
    .f_param_addr(dec_f_param_addr),
    .f_count(dec_f_count),
    .f_in_addr(dec_f_in_addr),
    .f_acc_row(dec_f_acc_row),
    .f_in_c(dec_f_in_c),
    .f_in_h(dec_f_in_h),
    .f_in_w(dec_f_in_w),
    .f_out_w(dec_f_out_w),
    .f_kh(dec_f_kh),
    .f_kw(dec_f_kw),
    .f_stride_h(dec_f_stride_h),
    .f_stride_w(dec_f_stride_w),
    .f_pad_t(dec_f_pad_t),
    .f_pad_l(dec_f_pad_l),
    .f_oc_count(dec_f_oc_count),
    .f_start_oy(dec_f_start_oy),
    .f_start_ox(dec_f_start_ox),
    .f_pix_count(dec_f_pix_count),
    .f_mask_addr(dec_f_mask_addr),
    .f_code_bits(dec_f_code_bits),
    .f_stored_signs(dec_f_stored_signs),
    .f_accumulate(dec_f_accumulate),
    .f_out_addr(dec_f_out_addr),
    .f_out_plane(dec_f_out_plane),
    .f_relu(dec_f_relu),
    .f_a_addr(dec_f_a_addr),
    .f_b_addr(dec_f_b_addr),
    .f_mult_a(dec_f_mult_a),
    .f_mult_b(dec_f_mult_b),
    .f_shift(dec_f_shift),
    .f_channels(dec_f_channels),
    .f_out_h(dec_f_out_h),
    .f_mult(dec_f_mult), .f_iterations(dec_f_iterations), .f_body_len(dec_f_body_len), .f_dram_stride(dec_f_dram_stride),
    .f_frozen(dec_f_frozen), .f_mask_bit(dec_f_mask_bit), .f_rep_log2(dec_f_rep_log2), .f_prune_thr(dec_f_prune_thr),
    .f_lock_thr(dec_f_lock_thr), .f_lock_code(dec_f_lock_code),
    .f_x_addr(dec_f_x_addr),
    .f_x_row(dec_f_x_row),
    .f_x_step(dec_f_x_step),
    .f_y_addr(dec_f_y_addr),
    .f_y_step(dec_f_y_step),
    .f_rows(dec_f_rows),
    .f_cols(dec_f_cols),
    .f_depth(dec_f_depth),
    .f_x_unsigned(dec_f_x_unsigned),
    .f_y_unsigned(dec_f_y_unsigned),
    .f_out_unsigned(dec_f_out_unsigned),
    .f_out_wide(dec_f_out_wide),
    .f_a_unsigned(dec_f_a_unsigned),
    .f_b_unsigned(dec_f_b_unsigned),
    .f_in_unsigned(dec_f_in_unsigned),
    .f_tokens(dec_f_tokens),
    .f_features(dec_f_features),
    .f_in_plane(dec_f_in_plane),
    .f_in_mult(dec_f_in_mult),
    .f_in_shift(dec_f_in_shift),
    .f_eps(dec_f_eps),
    .f_out_mult(dec_f_out_mult),
    .f_out_shift(dec_f_out_shift),
    .f_in_nodes(dec_f_in_nodes), .f_row_count(dec_f_row_count),
    .f_nnz(dec_f_nnz), .f_csr_addr(dec_f_csr_addr)
  );

  // The lane's generator id is not observed: its bits and state show which generator ran.
  /* verilator lint_off PINCONNECTEMPTY */
  seedcc_genlane u_gen (
    .clk(clk), .rst_n(rst_n), .load(gl_load), .load_state(gl_load_state), .load_gen(gl_load_gen),
    .restart(gl_restart), .step(gl_step), .bits(gl_bits), .state(gl_state), .gen()
  );
  /* verilator lint_on PINCONNECTEMPTY */

  seedcc_pe_tile #(.PIXELS(PIXELS)) u_tile (
    .clk(clk), .load(pe_load), .load_val(pe_load_val), .en(pe_en), .signs(pe_signs),
    .codes(pe_codes), .x(pe_x), .xu(pe_xu), .acc(pe_acc)
  );

  seedcc_requant u_rq (
    .acc(rq_acc), .bias(rq_bias), .mult(rq_mult), .shift(rq_shift), .relu(rq_relu), .uns(rq_uns), .out(rq_out),
    .out_wide(rq_out_wide)
  );
endmodule
