class User < ApplicationRecord
  self.ignored_columns += %w[legacy_token old_a old_b legacy_flag]
  has_many :posts
end
