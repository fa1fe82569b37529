// Instruction decoder: one 256-bit word -> opcode and every field of the ISA table.
//
// Bit ranges come from the generated isa.vh (never typed by hand). Each field name is one
// output port at its widest width; a field the current opcode does not have reads 0.
// Signed fields (mult_a, mult_b, mult) are signed ports. `known` is 0 for an opcode not in
// the table; `illegal` is 1 for an unknown opcode, any bit set outside the opcode's
// fields, a field outside its valid range (isa.vh's <OP>_<FIELD>_MIN / _MAX, e.g.
// code_bits 0 or space 3), or a field not below another where the table says so (the
// isa.vh "rule:" comments, e.g. MAC start_ox < out_w), or an address that is not a multiple
// of its memory's word (isa.vh's <OP>_<FIELD>_ALIGN_MASK, every param SRAM address) -- exactly the words that
// seedcc.backends.isa.decode rejects.
// Non-ANSI ports so that the port widths can use the header's localparams.
module seedcc_decode (
  word,
  opcode,
  known,
  illegal,
  f_space,
  f_sram_addr,
  f_dram_addr,
  f_length,
  f_background,
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
  f_out_addr,
  f_out_plane,
  f_relu,
  f_a_addr,
  f_b_addr,
  f_mult_a,
  f_mult_b,
  f_shift,
  f_channels,
  f_out_h,
  f_mult,
  f_iterations,
  f_body_len,
  f_dram_stride,
  f_frozen,
  f_mask_bit,
  f_rep_log2,
  f_prune_thr,
  f_lock_thr,
  f_lock_code,
  f_x_addr,
  f_x_row,
  f_x_step,
  f_y_addr,
  f_y_step,
  f_rows,
  f_cols,
  f_depth,
  f_x_unsigned,
  f_y_unsigned,
  f_tokens,
  f_features,
  f_in_plane,
  f_in_mult,
  f_in_shift,
  f_eps,
  f_out_mult,
  f_out_shift,
  f_in_nodes,
  f_row_count,
  f_nnz,
  f_csr_addr,
  f_out_unsigned,
  f_out_wide,
  f_a_unsigned,
  f_b_unsigned,
  f_in_unsigned
);
`include "isa.vh"
  input  wire [ISA_WORD_BITS-1:0] word;
  output wire [ISA_OPCODE_BITS-1:0] opcode;
  output reg  known;
  output wire illegal;
  output reg [F_SPACE_W-1:0] f_space;
  output reg [F_SRAM_ADDR_W-1:0] f_sram_addr;
  output reg [F_DRAM_ADDR_W-1:0] f_dram_addr;
  output reg [F_LENGTH_W-1:0] f_length;
  output reg [F_BACKGROUND_W-1:0] f_background;
  output reg [F_GEN_ID_W-1:0] f_gen_id;
  output reg [F_PARAM_ADDR_W-1:0] f_param_addr;
  output reg [F_COUNT_W-1:0] f_count;
  output reg [F_IN_ADDR_W-1:0] f_in_addr;
  output reg [F_ACC_ROW_W-1:0] f_acc_row;
  output reg [F_IN_C_W-1:0] f_in_c;
  output reg [F_IN_H_W-1:0] f_in_h;
  output reg [F_IN_W_W-1:0] f_in_w;
  output reg [F_OUT_W_W-1:0] f_out_w;
  output reg [F_KH_W-1:0] f_kh;
  output reg [F_KW_W-1:0] f_kw;
  output reg [F_STRIDE_H_W-1:0] f_stride_h;
  output reg [F_STRIDE_W_W-1:0] f_stride_w;
  output reg [F_PAD_T_W-1:0] f_pad_t;
  output reg [F_PAD_L_W-1:0] f_pad_l;
  output reg [F_OC_COUNT_W-1:0] f_oc_count;
  output reg [F_START_OY_W-1:0] f_start_oy;
  output reg [F_START_OX_W-1:0] f_start_ox;
  output reg [F_PIX_COUNT_W-1:0] f_pix_count;
  output reg [F_MASK_ADDR_W-1:0] f_mask_addr;
  output reg [F_CODE_BITS_W-1:0] f_code_bits;
  output reg [F_STORED_SIGNS_W-1:0] f_stored_signs;
  output reg [F_ACCUMULATE_W-1:0] f_accumulate;
  output reg [F_OUT_ADDR_W-1:0] f_out_addr;
  output reg [F_OUT_PLANE_W-1:0] f_out_plane;
  output reg [F_RELU_W-1:0] f_relu;
  output reg [F_A_ADDR_W-1:0] f_a_addr;
  output reg [F_B_ADDR_W-1:0] f_b_addr;
  output reg signed [F_MULT_A_W-1:0] f_mult_a;
  output reg signed [F_MULT_B_W-1:0] f_mult_b;
  output reg [F_SHIFT_W-1:0] f_shift;
  output reg [F_CHANNELS_W-1:0] f_channels;
  output reg [F_OUT_H_W-1:0] f_out_h;
  output reg signed [F_MULT_W-1:0] f_mult;
  output reg [F_ITERATIONS_W-1:0] f_iterations;
  output reg [F_BODY_LEN_W-1:0] f_body_len;
  output reg [F_DRAM_STRIDE_W-1:0] f_dram_stride;
  output reg [F_FROZEN_W-1:0] f_frozen;
  output reg [F_MASK_BIT_W-1:0] f_mask_bit;
  output reg [F_REP_LOG2_W-1:0] f_rep_log2;
  output reg [F_PRUNE_THR_W-1:0] f_prune_thr;
  output reg [F_LOCK_THR_W-1:0] f_lock_thr;
  output reg [F_LOCK_CODE_W-1:0] f_lock_code;
  output reg [F_X_ADDR_W-1:0] f_x_addr;
  output reg [F_X_ROW_W-1:0] f_x_row;
  output reg [F_X_STEP_W-1:0] f_x_step;
  output reg [F_Y_ADDR_W-1:0] f_y_addr;
  output reg [F_Y_STEP_W-1:0] f_y_step;
  output reg [F_ROWS_W-1:0] f_rows;
  output reg [F_COLS_W-1:0] f_cols;
  output reg [F_DEPTH_W-1:0] f_depth;
  output reg [F_X_UNSIGNED_W-1:0] f_x_unsigned;
  output reg [F_Y_UNSIGNED_W-1:0] f_y_unsigned;
  output reg [F_TOKENS_W-1:0] f_tokens;
  output reg [F_FEATURES_W-1:0] f_features;
  output reg [F_IN_PLANE_W-1:0] f_in_plane;
  output reg [F_IN_MULT_W-1:0] f_in_mult;
  output reg [F_IN_SHIFT_W-1:0] f_in_shift;
  output reg [F_EPS_W-1:0] f_eps;
  output reg signed [F_OUT_MULT_W-1:0] f_out_mult;
  output reg [F_OUT_SHIFT_W-1:0] f_out_shift;
  output reg [F_IN_NODES_W-1:0] f_in_nodes;
  output reg [F_ROW_COUNT_W-1:0] f_row_count;
  output reg [F_NNZ_W-1:0] f_nnz;
  output reg [F_CSR_ADDR_W-1:0] f_csr_addr;
  output reg [F_OUT_UNSIGNED_W-1:0] f_out_unsigned;
  output reg [F_OUT_WIDE_W-1:0] f_out_wide;
  output reg [F_A_UNSIGNED_W-1:0] f_a_unsigned;
  output reg [F_B_UNSIGNED_W-1:0] f_b_unsigned;
  output reg [F_IN_UNSIGNED_W-1:0] f_in_unsigned;

  reg [ISA_WORD_BITS-1:0] used;
  reg out_of_range;

  assign opcode = word[ISA_OPCODE_BITS-1:0];
  assign illegal = !known || ((word & ~used) != {ISA_WORD_BITS{1'b0}}) || out_of_range;

  always @* begin
    f_space = {F_SPACE_W{1'b0}};
    f_sram_addr = {F_SRAM_ADDR_W{1'b0}};
    f_dram_addr = {F_DRAM_ADDR_W{1'b0}};
    f_length = {F_LENGTH_W{1'b0}};
    f_background = {F_BACKGROUND_W{1'b0}};
    f_gen_id = {F_GEN_ID_W{1'b0}};
    f_param_addr = {F_PARAM_ADDR_W{1'b0}};
    f_count = {F_COUNT_W{1'b0}};
    f_in_addr = {F_IN_ADDR_W{1'b0}};
    f_acc_row = {F_ACC_ROW_W{1'b0}};
    f_in_c = {F_IN_C_W{1'b0}};
    f_in_h = {F_IN_H_W{1'b0}};
    f_in_w = {F_IN_W_W{1'b0}};
    f_out_w = {F_OUT_W_W{1'b0}};
    f_kh = {F_KH_W{1'b0}};
    f_kw = {F_KW_W{1'b0}};
    f_stride_h = {F_STRIDE_H_W{1'b0}};
    f_stride_w = {F_STRIDE_W_W{1'b0}};
    f_pad_t = {F_PAD_T_W{1'b0}};
    f_pad_l = {F_PAD_L_W{1'b0}};
    f_oc_count = {F_OC_COUNT_W{1'b0}};
    f_start_oy = {F_START_OY_W{1'b0}};
    f_start_ox = {F_START_OX_W{1'b0}};
    f_pix_count = {F_PIX_COUNT_W{1'b0}};
    f_mask_addr = {F_MASK_ADDR_W{1'b0}};
    f_code_bits = {F_CODE_BITS_W{1'b0}};
    f_stored_signs = {F_STORED_SIGNS_W{1'b0}};
    f_accumulate = {F_ACCUMULATE_W{1'b0}};
    f_out_addr = {F_OUT_ADDR_W{1'b0}};
    f_out_plane = {F_OUT_PLANE_W{1'b0}};
    f_relu = {F_RELU_W{1'b0}};
    f_a_addr = {F_A_ADDR_W{1'b0}};
    f_b_addr = {F_B_ADDR_W{1'b0}};
    f_mult_a = {F_MULT_A_W{1'b0}};
    f_mult_b = {F_MULT_B_W{1'b0}};
    f_shift = {F_SHIFT_W{1'b0}};
    f_channels = {F_CHANNELS_W{1'b0}};
    f_out_h = {F_OUT_H_W{1'b0}};
    f_mult = {F_MULT_W{1'b0}};
    f_iterations = {F_ITERATIONS_W{1'b0}};
    f_body_len = {F_BODY_LEN_W{1'b0}};
    f_dram_stride = {F_DRAM_STRIDE_W{1'b0}};
    f_frozen = {F_FROZEN_W{1'b0}};
    f_mask_bit = {F_MASK_BIT_W{1'b0}};
    f_rep_log2 = {F_REP_LOG2_W{1'b0}};
    f_prune_thr = {F_PRUNE_THR_W{1'b0}};
    f_lock_thr = {F_LOCK_THR_W{1'b0}};
    f_lock_code = {F_LOCK_CODE_W{1'b0}};
    f_x_addr = {F_X_ADDR_W{1'b0}};
    f_x_row = {F_X_ROW_W{1'b0}};
    f_x_step = {F_X_STEP_W{1'b0}};
    f_y_addr = {F_Y_ADDR_W{1'b0}};
    f_y_step = {F_Y_STEP_W{1'b0}};
    f_rows = {F_ROWS_W{1'b0}};
    f_cols = {F_COLS_W{1'b0}};
    f_depth = {F_DEPTH_W{1'b0}};
    f_x_unsigned = {F_X_UNSIGNED_W{1'b0}};
    f_y_unsigned = {F_Y_UNSIGNED_W{1'b0}};
    f_tokens = {F_TOKENS_W{1'b0}};
    f_features = {F_FEATURES_W{1'b0}};
    f_in_plane = {F_IN_PLANE_W{1'b0}};
    f_in_mult = {F_IN_MULT_W{1'b0}};
    f_in_shift = {F_IN_SHIFT_W{1'b0}};
    f_eps = {F_EPS_W{1'b0}};
    f_out_mult = {F_OUT_MULT_W{1'b0}};
    f_out_shift = {F_OUT_SHIFT_W{1'b0}};
    f_in_nodes = {F_IN_NODES_W{1'b0}};
    f_row_count = {F_ROW_COUNT_W{1'b0}};
    f_nnz = {F_NNZ_W{1'b0}};
    f_csr_addr = {F_CSR_ADDR_W{1'b0}};
    f_out_unsigned = {F_OUT_UNSIGNED_W{1'b0}};
    f_out_wide = {F_OUT_WIDE_W{1'b0}};
    f_a_unsigned = {F_A_UNSIGNED_W{1'b0}};
    f_b_unsigned = {F_B_UNSIGNED_W{1'b0}};
    f_in_unsigned = {F_IN_UNSIGNED_W{1'b0}};
    known = 1'b1;
    out_of_range = 1'b0;
    used = HALT_USED;
    case (opcode)
      OP_HALT: begin
        used = HALT_USED;
      end
      OP_SYNC: begin
        used = SYNC_USED;
      end
      OP_DMA_LOAD: begin
        used = DMA_LOAD_USED;
        f_space = word[DMA_LOAD_SPACE_LO +: DMA_LOAD_SPACE_W];
        f_sram_addr = word[DMA_LOAD_SRAM_ADDR_LO +: DMA_LOAD_SRAM_ADDR_W];
        f_dram_addr = word[DMA_LOAD_DRAM_ADDR_LO +: DMA_LOAD_DRAM_ADDR_W];
        f_length = word[DMA_LOAD_LENGTH_LO +: DMA_LOAD_LENGTH_W];
        f_background = word[DMA_LOAD_BACKGROUND_LO +: DMA_LOAD_BACKGROUND_W];
        out_of_range = (f_space > DMA_LOAD_SPACE_MAX)
                    || (f_space == SPACE_PARAM && |(f_sram_addr & DMA_LOAD_SRAM_ADDR_ALIGN_MASK));
      end
      OP_DMA_STORE: begin
        used = DMA_STORE_USED;
        f_space = word[DMA_STORE_SPACE_LO +: DMA_STORE_SPACE_W];
        f_sram_addr = word[DMA_STORE_SRAM_ADDR_LO +: DMA_STORE_SRAM_ADDR_W];
        f_dram_addr = word[DMA_STORE_DRAM_ADDR_LO +: DMA_STORE_DRAM_ADDR_W];
        f_length = word[DMA_STORE_LENGTH_LO +: DMA_STORE_LENGTH_W];
        f_background = word[DMA_STORE_BACKGROUND_LO +: DMA_STORE_BACKGROUND_W];
        out_of_range = (f_space > DMA_STORE_SPACE_MAX)
                    || (f_space == SPACE_PARAM && |(f_sram_addr & DMA_STORE_SRAM_ADDR_ALIGN_MASK));
      end
      OP_SETGEN: begin
        used = SETGEN_USED;
        f_gen_id = word[SETGEN_GEN_ID_LO +: SETGEN_GEN_ID_W];
        f_param_addr = word[SETGEN_PARAM_ADDR_LO +: SETGEN_PARAM_ADDR_W];
        f_count = word[SETGEN_COUNT_LO +: SETGEN_COUNT_W];
        out_of_range = (f_gen_id > SETGEN_GEN_ID_MAX) || |(f_param_addr & SETGEN_PARAM_ADDR_ALIGN_MASK);
      end
      OP_MAC: begin
        used = MAC_USED;
        f_in_addr = word[MAC_IN_ADDR_LO +: MAC_IN_ADDR_W];
        f_acc_row = word[MAC_ACC_ROW_LO +: MAC_ACC_ROW_W];
        f_in_c = word[MAC_IN_C_LO +: MAC_IN_C_W];
        f_in_h = word[MAC_IN_H_LO +: MAC_IN_H_W];
        f_in_w = word[MAC_IN_W_LO +: MAC_IN_W_W];
        f_out_w = word[MAC_OUT_W_LO +: MAC_OUT_W_W];
        f_kh = word[MAC_KH_LO +: MAC_KH_W];
        f_kw = word[MAC_KW_LO +: MAC_KW_W];
        f_stride_h = word[MAC_STRIDE_H_LO +: MAC_STRIDE_H_W];
        f_stride_w = word[MAC_STRIDE_W_LO +: MAC_STRIDE_W_W];
        f_pad_t = word[MAC_PAD_T_LO +: MAC_PAD_T_W];
        f_pad_l = word[MAC_PAD_L_LO +: MAC_PAD_L_W];
        f_oc_count = word[MAC_OC_COUNT_LO +: MAC_OC_COUNT_W];
        f_start_oy = word[MAC_START_OY_LO +: MAC_START_OY_W];
        f_start_ox = word[MAC_START_OX_LO +: MAC_START_OX_W];
        f_pix_count = word[MAC_PIX_COUNT_LO +: MAC_PIX_COUNT_W];
        f_mask_addr = word[MAC_MASK_ADDR_LO +: MAC_MASK_ADDR_W];
        f_code_bits = word[MAC_CODE_BITS_LO +: MAC_CODE_BITS_W];
        f_stored_signs = word[MAC_STORED_SIGNS_LO +: MAC_STORED_SIGNS_W];
        f_accumulate = word[MAC_ACCUMULATE_LO +: MAC_ACCUMULATE_W];
        f_frozen = word[MAC_FROZEN_LO +: MAC_FROZEN_W];
        f_mask_bit = word[MAC_MASK_BIT_LO +: MAC_MASK_BIT_W];
        f_rep_log2 = word[MAC_REP_LOG2_LO +: MAC_REP_LOG2_W];
        f_x_unsigned = word[MAC_X_UNSIGNED_LO +: MAC_X_UNSIGNED_W];
        out_of_range = (f_out_w < MAC_OUT_W_MIN) || (f_kh < MAC_KH_MIN) || (f_kw < MAC_KW_MIN)
                    || (f_stride_h < MAC_STRIDE_H_MIN) || (f_stride_w < MAC_STRIDE_W_MIN)
                    || (f_code_bits < MAC_CODE_BITS_MIN)
                    || (f_start_ox >= f_out_w);  // rule: start_ox < out_w
      end
      OP_REQ: begin
        used = REQ_USED;
        f_acc_row = word[REQ_ACC_ROW_LO +: REQ_ACC_ROW_W];
        f_out_addr = word[REQ_OUT_ADDR_LO +: REQ_OUT_ADDR_W];
        f_oc_count = word[REQ_OC_COUNT_LO +: REQ_OC_COUNT_W];
        f_pix_count = word[REQ_PIX_COUNT_LO +: REQ_PIX_COUNT_W];
        f_out_plane = word[REQ_OUT_PLANE_LO +: REQ_OUT_PLANE_W];
        f_param_addr = word[REQ_PARAM_ADDR_LO +: REQ_PARAM_ADDR_W];
        f_relu = word[REQ_RELU_LO +: REQ_RELU_W];
        f_background = word[REQ_BACKGROUND_LO +: REQ_BACKGROUND_W];
        f_rep_log2 = word[REQ_REP_LOG2_LO +: REQ_REP_LOG2_W];
        f_out_unsigned = word[REQ_OUT_UNSIGNED_LO +: REQ_OUT_UNSIGNED_W];
        f_out_wide = word[REQ_OUT_WIDE_LO +: REQ_OUT_WIDE_W];
        out_of_range = |(f_param_addr & REQ_PARAM_ADDR_ALIGN_MASK);
      end
      OP_ADD: begin
        used = ADD_USED;
        f_a_addr = word[ADD_A_ADDR_LO +: ADD_A_ADDR_W];
        f_b_addr = word[ADD_B_ADDR_LO +: ADD_B_ADDR_W];
        f_out_addr = word[ADD_OUT_ADDR_LO +: ADD_OUT_ADDR_W];
        f_length = word[ADD_LENGTH_LO +: ADD_LENGTH_W];
        f_mult_a = word[ADD_MULT_A_LO +: ADD_MULT_A_W];
        f_mult_b = word[ADD_MULT_B_LO +: ADD_MULT_B_W];
        f_shift = word[ADD_SHIFT_LO +: ADD_SHIFT_W];
        f_relu = word[ADD_RELU_LO +: ADD_RELU_W];
        f_a_unsigned = word[ADD_A_UNSIGNED_LO +: ADD_A_UNSIGNED_W];
        f_b_unsigned = word[ADD_B_UNSIGNED_LO +: ADD_B_UNSIGNED_W];
        f_out_unsigned = word[ADD_OUT_UNSIGNED_LO +: ADD_OUT_UNSIGNED_W];
      end
      OP_MAXPOOL: begin
        used = MAXPOOL_USED;
        f_in_addr = word[MAXPOOL_IN_ADDR_LO +: MAXPOOL_IN_ADDR_W];
        f_out_addr = word[MAXPOOL_OUT_ADDR_LO +: MAXPOOL_OUT_ADDR_W];
        f_channels = word[MAXPOOL_CHANNELS_LO +: MAXPOOL_CHANNELS_W];
        f_in_h = word[MAXPOOL_IN_H_LO +: MAXPOOL_IN_H_W];
        f_in_w = word[MAXPOOL_IN_W_LO +: MAXPOOL_IN_W_W];
        f_out_h = word[MAXPOOL_OUT_H_LO +: MAXPOOL_OUT_H_W];
        f_out_w = word[MAXPOOL_OUT_W_LO +: MAXPOOL_OUT_W_W];
        f_kh = word[MAXPOOL_KH_LO +: MAXPOOL_KH_W];
        f_kw = word[MAXPOOL_KW_LO +: MAXPOOL_KW_W];
        f_stride_h = word[MAXPOOL_STRIDE_H_LO +: MAXPOOL_STRIDE_H_W];
        f_stride_w = word[MAXPOOL_STRIDE_W_LO +: MAXPOOL_STRIDE_W_W];
        f_pad_t = word[MAXPOOL_PAD_T_LO +: MAXPOOL_PAD_T_W];
        f_pad_l = word[MAXPOOL_PAD_L_LO +: MAXPOOL_PAD_L_W];
        f_in_unsigned = word[MAXPOOL_IN_UNSIGNED_LO +: MAXPOOL_IN_UNSIGNED_W];
        out_of_range = (f_kh < MAXPOOL_KH_MIN) || (f_kw < MAXPOOL_KW_MIN)
                    || (f_stride_h < MAXPOOL_STRIDE_H_MIN) || (f_stride_w < MAXPOOL_STRIDE_W_MIN);
      end
      OP_AVGPOOL: begin
        used = AVGPOOL_USED;
        f_in_addr = word[AVGPOOL_IN_ADDR_LO +: AVGPOOL_IN_ADDR_W];
        f_out_addr = word[AVGPOOL_OUT_ADDR_LO +: AVGPOOL_OUT_ADDR_W];
        f_channels = word[AVGPOOL_CHANNELS_LO +: AVGPOOL_CHANNELS_W];
        f_in_h = word[AVGPOOL_IN_H_LO +: AVGPOOL_IN_H_W];
        f_in_w = word[AVGPOOL_IN_W_LO +: AVGPOOL_IN_W_W];
        f_out_h = word[AVGPOOL_OUT_H_LO +: AVGPOOL_OUT_H_W];
        f_out_w = word[AVGPOOL_OUT_W_LO +: AVGPOOL_OUT_W_W];
        f_kh = word[AVGPOOL_KH_LO +: AVGPOOL_KH_W];
        f_kw = word[AVGPOOL_KW_LO +: AVGPOOL_KW_W];
        f_stride_h = word[AVGPOOL_STRIDE_H_LO +: AVGPOOL_STRIDE_H_W];
        f_stride_w = word[AVGPOOL_STRIDE_W_LO +: AVGPOOL_STRIDE_W_W];
        f_pad_t = word[AVGPOOL_PAD_T_LO +: AVGPOOL_PAD_T_W];
        f_pad_l = word[AVGPOOL_PAD_L_LO +: AVGPOOL_PAD_L_W];
        f_mult = word[AVGPOOL_MULT_LO +: AVGPOOL_MULT_W];
        f_shift = word[AVGPOOL_SHIFT_LO +: AVGPOOL_SHIFT_W];
        f_in_unsigned = word[AVGPOOL_IN_UNSIGNED_LO +: AVGPOOL_IN_UNSIGNED_W];
        out_of_range = (f_kh < AVGPOOL_KH_MIN) || (f_kw < AVGPOOL_KW_MIN)
                    || (f_stride_h < AVGPOOL_STRIDE_H_MIN) || (f_stride_w < AVGPOOL_STRIDE_W_MIN);
      end
      OP_LOOP: begin
        used = LOOP_USED;
        f_iterations = word[LOOP_ITERATIONS_LO +: LOOP_ITERATIONS_W];
        f_body_len = word[LOOP_BODY_LEN_LO +: LOOP_BODY_LEN_W];
        f_dram_stride = word[LOOP_DRAM_STRIDE_LO +: LOOP_DRAM_STRIDE_W];
        out_of_range = (f_iterations < LOOP_ITERATIONS_MIN) || (f_body_len < LOOP_BODY_LEN_MIN);
      end
      OP_SETFRZ: begin
        used = SETFRZ_USED;
        f_param_addr = word[SETFRZ_PARAM_ADDR_LO +: SETFRZ_PARAM_ADDR_W];
        f_channels = word[SETFRZ_CHANNELS_LO +: SETFRZ_CHANNELS_W];
        f_prune_thr = word[SETFRZ_PRUNE_THR_LO +: SETFRZ_PRUNE_THR_W];
        f_lock_thr = word[SETFRZ_LOCK_THR_LO +: SETFRZ_LOCK_THR_W];
        f_lock_code = word[SETFRZ_LOCK_CODE_LO +: SETFRZ_LOCK_CODE_W];
        out_of_range = (f_prune_thr > SETFRZ_PRUNE_THR_MAX) || (f_lock_thr > SETFRZ_LOCK_THR_MAX)
                    || |(f_param_addr & SETFRZ_PARAM_ADDR_ALIGN_MASK);
      end
      OP_MATMUL: begin
        used = MATMUL_USED;
        f_x_addr = word[MATMUL_X_ADDR_LO +: MATMUL_X_ADDR_W];
        f_x_row = word[MATMUL_X_ROW_LO +: MATMUL_X_ROW_W];
        f_x_step = word[MATMUL_X_STEP_LO +: MATMUL_X_STEP_W];
        f_y_addr = word[MATMUL_Y_ADDR_LO +: MATMUL_Y_ADDR_W];
        f_y_step = word[MATMUL_Y_STEP_LO +: MATMUL_Y_STEP_W];
        f_out_addr = word[MATMUL_OUT_ADDR_LO +: MATMUL_OUT_ADDR_W];
        f_out_plane = word[MATMUL_OUT_PLANE_LO +: MATMUL_OUT_PLANE_W];
        f_rows = word[MATMUL_ROWS_LO +: MATMUL_ROWS_W];
        f_cols = word[MATMUL_COLS_LO +: MATMUL_COLS_W];
        f_depth = word[MATMUL_DEPTH_LO +: MATMUL_DEPTH_W];
        f_mult = word[MATMUL_MULT_LO +: MATMUL_MULT_W];
        f_shift = word[MATMUL_SHIFT_LO +: MATMUL_SHIFT_W];
        f_x_unsigned = word[MATMUL_X_UNSIGNED_LO +: MATMUL_X_UNSIGNED_W];
        f_y_unsigned = word[MATMUL_Y_UNSIGNED_LO +: MATMUL_Y_UNSIGNED_W];
        out_of_range = (f_depth < MATMUL_DEPTH_MIN);
      end
      OP_SOFTMAX: begin
        used = SOFTMAX_USED;
        f_in_addr = word[SOFTMAX_IN_ADDR_LO +: SOFTMAX_IN_ADDR_W];
        f_out_addr = word[SOFTMAX_OUT_ADDR_LO +: SOFTMAX_OUT_ADDR_W];
        f_tokens = word[SOFTMAX_TOKENS_LO +: SOFTMAX_TOKENS_W];
        f_features = word[SOFTMAX_FEATURES_LO +: SOFTMAX_FEATURES_W];
        f_in_plane = word[SOFTMAX_IN_PLANE_LO +: SOFTMAX_IN_PLANE_W];
        f_out_plane = word[SOFTMAX_OUT_PLANE_LO +: SOFTMAX_OUT_PLANE_W];
        f_in_mult = word[SOFTMAX_IN_MULT_LO +: SOFTMAX_IN_MULT_W];
        f_in_shift = word[SOFTMAX_IN_SHIFT_LO +: SOFTMAX_IN_SHIFT_W];
        out_of_range = (f_features < SOFTMAX_FEATURES_MIN);
      end
      OP_LAYERNORM: begin
        used = LAYERNORM_USED;
        f_in_addr = word[LAYERNORM_IN_ADDR_LO +: LAYERNORM_IN_ADDR_W];
        f_out_addr = word[LAYERNORM_OUT_ADDR_LO +: LAYERNORM_OUT_ADDR_W];
        f_tokens = word[LAYERNORM_TOKENS_LO +: LAYERNORM_TOKENS_W];
        f_features = {{(F_FEATURES_W-LAYERNORM_FEATURES_W){1'b0}},
                      word[LAYERNORM_FEATURES_LO +: LAYERNORM_FEATURES_W]};
        f_in_plane = word[LAYERNORM_IN_PLANE_LO +: LAYERNORM_IN_PLANE_W];
        f_out_plane = word[LAYERNORM_OUT_PLANE_LO +: LAYERNORM_OUT_PLANE_W];
        f_param_addr = word[LAYERNORM_PARAM_ADDR_LO +: LAYERNORM_PARAM_ADDR_W];
        f_eps = word[LAYERNORM_EPS_LO +: LAYERNORM_EPS_W];
        out_of_range = (f_features < {{(F_FEATURES_W-LAYERNORM_FEATURES_W){1'b0}}, LAYERNORM_FEATURES_MIN})
                    || |(f_param_addr & LAYERNORM_PARAM_ADDR_ALIGN_MASK);
      end
      OP_GELU: begin
        used = GELU_USED;
        f_in_addr = word[GELU_IN_ADDR_LO +: GELU_IN_ADDR_W];
        f_out_addr = word[GELU_OUT_ADDR_LO +: GELU_OUT_ADDR_W];
        f_length = word[GELU_LENGTH_LO +: GELU_LENGTH_W];
        f_in_mult = word[GELU_IN_MULT_LO +: GELU_IN_MULT_W];
        f_in_shift = word[GELU_IN_SHIFT_LO +: GELU_IN_SHIFT_W];
        f_out_mult = word[GELU_OUT_MULT_LO +: GELU_OUT_MULT_W];
        f_out_shift = word[GELU_OUT_SHIFT_LO +: GELU_OUT_SHIFT_W];
      end
      OP_AGG: begin
        used = AGG_USED;
        f_in_addr = word[AGG_IN_ADDR_LO +: AGG_IN_ADDR_W];
        f_in_nodes = word[AGG_IN_NODES_LO +: AGG_IN_NODES_W];
        f_acc_row = word[AGG_ACC_ROW_LO +: AGG_ACC_ROW_W];
        f_features = word[AGG_FEATURES_LO +: AGG_FEATURES_W];
        f_row_count = word[AGG_ROW_COUNT_LO +: AGG_ROW_COUNT_W];
        f_nnz = word[AGG_NNZ_LO +: AGG_NNZ_W];
        f_csr_addr = word[AGG_CSR_ADDR_LO +: AGG_CSR_ADDR_W];
        f_in_unsigned = word[AGG_IN_UNSIGNED_LO +: AGG_IN_UNSIGNED_W];
        out_of_range = f_in_nodes < AGG_IN_NODES_MIN;
      end
      default: known = 1'b0;
    endcase
  end
endmodule
